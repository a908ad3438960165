import { decide, inDoubtRefusal, isInDoubt, outcomeOf } from '../core/decide.ts';
import { InvalidArgumentError, InvalidTransitionError } from 'twopc/internal/contract/errors';
import type { TxId } from '../core/tx-record.ts';
import {
  Outcome,
  TxState,
  ViewState,
  isDecided,
  isTerminal,
} from 'twopc/internal/contract/tx-state';
import type { TxView } from '../store/transaction-store.ts';
import type { Coordinator, OutcomeResult } from './coordinator.ts';

// What an operator may do to a transaction besides Commit and Abort, each
// recorded in the transaction's audit trail.

/**
 * Operator: re-sends phase 2 now. Drives the transaction here if no run of
 * this process does (phase 2 is idempotent, so a second driver is harmless).
 * @throws TxNotFoundError, InvalidTransitionError (no decision, or finished)
 */
export async function retryNow(
  c: Coordinator,
  txnId: TxId,
  principal: string | null,
): Promise<TxView> {
  c.assertOpen();
  const view = await c.get(txnId);
  if (!isDecided(view.state) || isTerminal(view.state)) {
    throw new InvalidTransitionError(
      txnId,
      view.state,
      'only a decided, unfinished transaction has phase 2 to retry',
    );
  }
  await c.store.recordOperatorAction(txnId, 'RETRY', null, '', principal);
  const run = c.runOf(txnId);
  if (run === undefined) {
    c.adopt(view);
  } else {
    run.wake();
  }
  return c.get(txnId);
}

/**
 * Operator: a participant that can never answer was resolved by hand, the
 * way the log decided; it now counts as acknowledged. A transaction in
 * doubt (a one-phase Commit whose answer was lost) has no decision of the
 * coordinator's to follow: the operator gives the participant's own
 * outcome, found in its database, and the transaction ends with it.
 * @throws TxNotFoundError, InvalidArgumentError, InvalidTransitionError (contradicts the decision)
 */
export async function resolveParticipant(
  c: Coordinator,
  txnId: TxId,
  name: string,
  outcome: Outcome,
  note: string,
  principal: string | null,
): Promise<TxView> {
  c.assertOpen();
  return c.exclusive(txnId, async () => {
    const view = await c.get(txnId);
    assertResolvable(view, name, outcome);
    const event = { type: 'ack:received', name, outcome } as const;
    // The guard is the store's conditional write, not the read above: two
    // resolutions of one participant (two operators, two coordinators, a
    // double click) race there, and only the first is recorded.
    const claimed = await c.store.claimResolution({
      txnId,
      participant: name,
      detail: `${outcome}${isInDoubt(view) ? ' (in doubt: the participant’s outcome)' : ''}${note === '' ? '' : `: ${note}`}`,
      principal,
      final: isInDoubt(view) ? finalOf(decide(view, event), txnId) : null,
    });
    if (!claimed) {
      throw new InvalidTransitionError(
        txnId,
        view.state,
        `'${name}' was resolved or acknowledged meanwhile: there is nothing to resolve`,
      );
    }
    const existing = c.runOf(txnId);
    // In doubt, the claim wrote the final state: a run here adopts it.
    const run = existing ?? (isInDoubt(view) || isTerminal(view.state) ? null : c.driveHere(view));
    await run?.apply(event).catch((err: unknown) => {
      if (!(err instanceof InvalidTransitionError)) {
        throw err;
      }
    });
    if (existing !== undefined) {
      existing.wake(); // its delivery loop for this participant ends at once
    } else {
      void run?.resume(); // a run made here delivers what the others still owe
    }
    return c.get(txnId);
  });
}

/**
 * Refuses a resolution the transaction as read cannot take: an unknown or
 * acknowledged participant, an outcome against the decision.
 * @throws InvalidArgumentError, InvalidTransitionError
 */
function assertResolvable(view: TxView, name: string, outcome: Outcome): void {
  const participant = view.participants.find((p) => p.name === name);
  if (participant === undefined) {
    throw new InvalidArgumentError(
      'participant',
      `'${name}' is not a participant of ${view.txnId}`,
    );
  }
  if (participant.acked) {
    throw new InvalidTransitionError(
      view.txnId,
      view.state,
      `'${name}' already acknowledged the outcome: there is nothing to resolve`,
    );
  }
  const decided = outcomeOf(view);
  if (isInDoubt(view)) {
    if (outcome !== Outcome.COMMITTED && outcome !== Outcome.ABORTED) {
      throw new InvalidArgumentError(
        'outcome',
        `${view.txnId} is in doubt: give what '${name}' itself did, COMMITTED or ABORTED`,
      );
    }
  } else if (decided === Outcome.PENDING) {
    throw new InvalidTransitionError(
      view.txnId,
      view.state,
      'no decision yet: the coordinator decides, not an operator',
    );
  } else if (decided !== outcome) {
    throw new InvalidTransitionError(
      view.txnId,
      view.state,
      `resolving '${name}' as ${outcome} would contradict the logged decision ${decided}`,
    );
  }
}

/** The final state and reason the core gives an in-doubt transaction for the operator's outcome. */
function finalOf(
  decision: ReturnType<typeof decide>,
  txnId: TxId,
): { state: TxState; reason: string | null } {
  if (!decision.ok || !isTerminal(decision.next.state)) {
    throw new InvalidTransitionError(txnId, TxState.ABORTING, 'the outcome does not end it');
  }
  return { state: decision.next.state, reason: decision.next.reason };
}

/**
 * Operator: aborts a transaction that has no commit decision, recorded in
 * its audit trail with the operator's principal.
 * @throws TxNotFoundError, InvalidTransitionError (after a commit decision)
 */
export async function operatorAbort(
  c: Coordinator,
  txnId: TxId,
  reason: string,
  principal: string | null,
  until: AbortSignal,
): Promise<OutcomeResult> {
  c.assertOpen();
  const view = await c.get(txnId);
  if (isInDoubt(view)) {
    throw new InvalidTransitionError(txnId, ViewState.IN_DOUBT, inDoubtRefusal(view));
  }
  if (!isDecided(view.state)) {
    await c.store.recordOperatorAction(txnId, 'ABORT', null, reason, principal);
  }
  return c.abort(txnId, reason, until);
}
