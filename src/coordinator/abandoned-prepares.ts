import { outcomeOf } from '../core/decide.ts';
import type { TxId } from '../core/tx-record.ts';
import { Outcome, isDecided } from 'twopc/internal/contract/tx-state';
import { sleep } from 'twopc/internal/time/clock';
import { backoffMs } from 'twopc/internal/shared/backoff';
import { durableRead } from './persist.ts';
import type { RunDeps } from './run-deps.ts';

/** A participant an early Prepare went to. */
export interface PreparedAt {
  readonly name: string;
  readonly endpoint: string;
}

/**
 * Finishes early Prepares that no run took: the commit claim failed or lost
 * its race. They went only to participants named at Begin, so the log lists
 * each of them wherever it holds the transaction. Whoever decides the
 * transaction tells the participants the log lists, but may give up on one
 * its own Prepare never reached (DESIGN §3 rule 16); so this tells every
 * participant these Prepares reached, once the log has decided an abort or
 * forgotten the transaction (presumed abort), and a prepared branch is never
 * left to the participant's own check (rule 4). A committed transaction's
 * decider tells every participant it lists.
 */
export async function followAbandoned(
  deps: RunDeps,
  txnId: TxId,
  sent: readonly PreparedAt[],
): Promise<void> {
  if (sent.length === 0) {
    return;
  }
  for (let attempt = 1; !deps.signal.aborted; attempt++) {
    // Durable before it is acted on: an abort may be visible before it is (rule 2).
    const view = await durableRead(deps, txnId).catch(() => undefined);
    if (view !== undefined && (view === null || isDecided(view.state))) {
      if (view !== null && outcomeOf(view) !== Outcome.ABORTED && !view.onePhase) {
        return;
      }
      // Every one reached, listed or not: the decider may give up on a listed
      // one that none of its own Prepares reached, not knowing of this one
      // (DESIGN §3 rule 16). An Abort is idempotent at the participant.
      await Promise.all(sent.map((p) => tellAbort(deps, txnId, p)));
      return;
    }
    const waitMs = Math.max(backoffMs(deps.config.retry, attempt, deps.random), 100);
    if (!(await sleep(deps.clock, waitMs, deps.signal))) {
      return;
    }
  }
}

/** Abort to one participant until it acknowledges (idempotent at the participant). */
async function tellAbort(deps: RunDeps, txnId: TxId, p: PreparedAt): Promise<void> {
  const reason = 'the transaction aborted; an early Prepare reached this participant';
  for (let attempt = 1; !deps.signal.aborted; attempt++) {
    try {
      await deps.participants.abort(
        { endpoint: p.endpoint, txnId, name: p.name, timeoutMs: deps.config.callTimeoutMs },
        reason,
      );
      deps.log.info(
        { txn_id: txnId, participant: p.name },
        'told Abort to a participant an early Prepare reached',
      );
      return;
    } catch {
      if (
        !(await sleep(deps.clock, backoffMs(deps.config.retry, attempt, deps.random), deps.signal))
      ) {
        return;
      }
    }
  }
}
