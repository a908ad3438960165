import { StoreRefusedDataError, coerceError } from 'twopc/internal/contract/errors';
import type { TxId, TxRecord } from '../core/tx-record.ts';
import { outcomeOf } from '../core/decide.ts';
import type { TxState } from 'twopc/internal/contract/tx-state';
import { Outcome, isDecided } from 'twopc/internal/contract/tx-state';
import { failpoint } from '../fault/failpoints.ts';
import { DecisionWrite } from '../store/transaction-store.ts';
import type { TxView } from '../store/transaction-store.ts';
import { sleep } from 'twopc/internal/time/clock';
import { backoffMs } from 'twopc/internal/shared/backoff';
import type { RunDeps } from './run-deps.ts';
import type { WritePlan } from './write-plan.ts';

/** What became of the write a transition needed. */
export type Persisted =
  /** Written (or nothing to write): the transition's messages may go. */
  | { readonly kind: 'written' }
  /** Another decider logged first: adopt its record and send nothing. */
  | { readonly kind: 'adopted'; readonly tx: TxRecord }
  /**
   * A commit refused because the store restarted since Begin (a write told
   * to the client may have been lost): the transaction can only abort.
   */
  | { readonly kind: 'refused' };

const WRITTEN: Persisted = { kind: 'written' };
const REFUSED: Persisted = { kind: 'refused' };

/** One attempt at a write: its result, or `null` to re-read the row and decide from it. */
type Attempt = () => Promise<Persisted | null>;

/**
 * Writes what a transition needs.
 *
 * A write whose answer is lost (connection failure) is ambiguous: nothing
 * is sent until the store answers again and the row is re-read. Present:
 * made durable (a forced barrier: rule 9, and a synchronous standby may not
 * have it yet), then acted on. Still undecided: the write did not land and
 * nobody was told anything, so the same conditional write is issued again.
 */
export async function persistPlan(
  deps: RunDeps,
  plan: WritePlan,
  next: TxRecord,
  onStall: (err: Error) => void,
): Promise<Persisted> {
  switch (plan.kind) {
    case 'none':
      return WRITTEN;
    case 'ack':
      for (const name of plan.names) {
        const p = next.participants.find((x) => x.name === name);
        // Safe to lose: recovery re-sends phase 2 to an unrecorded ack.
        deps.store.recordAck(next.txnId, name, p?.heuristic ?? null).catch(() => undefined);
      }
      return WRITTEN;
    case 'confirm-one-phase':
      return retryUntilKnown(deps, onStall, next, isUndecided, async () =>
        (await deps.store.confirmOnePhase(next.txnId)) ? WRITTEN : onePhaseRefused(deps, next),
      );
    case 'decision':
      return persistDecision(deps, next, onStall);
    case 'completion':
      await failpoint('before_completion_logged');
      return retryUntilKnown(
        deps,
        onStall,
        next,
        (s) => s === plan.from,
        async () =>
          (await deps.store.recordCompletion(next, plan.from, plan.forced)) ? WRITTEN : null,
      );
  }
}

const isUndecided = (s: TxState): boolean => !isDecided(s);

async function persistDecision(
  deps: RunDeps,
  next: TxRecord,
  onStall: (err: Error) => void,
): Promise<Persisted> {
  await failpoint('after_votes_before_decision');
  const result = await retryUntilKnown(
    deps,
    onStall,
    next,
    isUndecided,
    async () => {
      const written = deps.store.recordDecision(next);
      await failpoint('during_decision_write');
      switch (await written) {
        case DecisionWrite.LANDED:
          return WRITTEN;
        case DecisionWrite.REFUSED:
          return REFUSED;
        case DecisionWrite.LOST:
          return null;
      }
    },
    true,
  );
  if (result.kind === 'written') {
    await failpoint('after_decision_logged');
  }
  return result;
}

/**
 * The one-phase claim could not be confirmed. Decided meanwhile by someone
 * else: adopt that. Otherwise (still undecided, or the row lost with the
 * store's crash) the store restarted since Begin: refuse.
 */
async function onePhaseRefused(deps: RunDeps, next: TxRecord): Promise<Persisted | null> {
  const stored = await deps.store.get(next.txnId);
  return stored !== null && isDecided(stored.state) ? null : REFUSED;
}

async function retryUntilKnown(
  deps: RunDeps,
  onStall: (err: Error) => void,
  next: TxRecord,
  stillOwed: (logged: TxState) => boolean,
  attempt: Attempt,
  decision = false,
): Promise<Persisted> {
  for (let n = 1; ; n++) {
    try {
      return (await attempt()) ?? (await readBack(deps, next, false, decision));
    } catch (err) {
      if (err instanceof StoreRefusedDataError) {
        throw err; // refused for its data: the same write would be refused forever
      }
      onStall(coerceError(err));
      warnStalled(deps, next, n, err);
    }
    if (!(await sleep(deps.clock, backoffMs(deps.config.retry, n, deps.random), deps.signal))) {
      throw new Error('shutting down with a log write unresolved; recovery will finish it');
    }
    const stored = await deps.store.get(next.txnId).catch(() => undefined);
    if (stored === undefined || stored === null || stillOwed(stored.state)) {
      continue;
    }
    try {
      return await readBack(deps, next, true, decision);
    } catch (err) {
      onStall(coerceError(err));
    }
  }
}

function warnStalled(
  deps: RunDeps,
  next: Pick<TxRecord, 'txnId'>,
  attempt: number,
  err: unknown,
): void {
  const suppressed = deps.warnings.allow('log-write');
  if (suppressed !== null) {
    deps.log.warn(
      {
        txn_id: next.txnId,
        attempt,
        err: coerceError(err).message,
        similar_suppressed: suppressed,
      },
      'log write failed; will re-read before sending anything',
    );
  }
}

/**
 * Reads the logged record after a write that did not land, or may not have
 * (`inDoubt`: then the record in our state is taken to be ours), and makes
 * it durable before anyone is told of it. The barrier follows the read, so
 * that it covers what the read saw: a state another decider wrote may be
 * visible before it is durable (a synchronous standby's wait cut short).
 */
async function readBack(
  deps: RunDeps,
  next: TxRecord,
  inDoubt: boolean,
  decision: boolean,
): Promise<Persisted> {
  const stored = await durableRead(deps, next.txnId);
  if (stored === null) {
    return vanished(deps, next, decision);
  }
  if (inDoubt && stored.state === next.state) {
    deps.log.info(
      { txn_id: next.txnId, state: stored.state },
      'the write was in doubt; re-read it from the log, where it landed',
    );
    return WRITTEN;
  }
  deps.log.info(
    { txn_id: next.txnId, ours: next.state, logged: stored.state },
    inDoubt
      ? 'the write was in doubt; adopting what the log holds'
      : 'another decision was logged first; adopting it',
  );
  return { kind: 'adopted', tx: stored };
}

/**
 * Reads a transaction and makes what the read saw durable (null: the log
 * does not hold it). The barrier follows the read, so that it covers it: a
 * state another process wrote may be visible before it is durable (a
 * synchronous standby's wait cut short).
 */
export async function durableRead(deps: RunDeps, txnId: TxId): Promise<TxView | null> {
  let stored = await deps.store.get(txnId);
  for (;;) {
    const state = stored === null ? null : await deps.store.makeDurable(txnId);
    if (stored === null || state === null) {
      return null;
    }
    if (state === stored.state) {
      return stored;
    }
    stored = await deps.store.get(txnId); // moved on between the read and the barrier
  }
}

/**
 * durableRead until the store answers (backing off); throws only when the
 * process shuts down.
 */
export async function durableReadRetrying(deps: RunDeps, txnId: TxId): Promise<TxView | null> {
  for (let n = 1; ; n++) {
    try {
      return await durableRead(deps, txnId);
    } catch (err) {
      warnStalled(deps, { txnId }, n, err);
    }
    if (!(await sleep(deps.clock, backoffMs(deps.config.retry, n, deps.random), deps.signal))) {
      throw new Error('shutting down with a read unresolved; recovery will finish it');
    }
  }
}

/**
 * The row is gone: the store lost its Begin in a crash (or a promotion).
 * Absence is a durable abort (presumed abort; nobody can create the id
 * again), so an abort stands as written and a commit is refused. A row
 * that held a durable commit decision cannot vanish unless the log itself
 * was lost; that is reported loudly and the run ends as it is.
 */
function vanished(deps: RunDeps, next: TxRecord, decision: boolean): Persisted {
  if (!isDecided(next.state)) {
    return REFUSED; // a one-phase claim to confirm
  }
  if (outcomeOf(next) !== Outcome.COMMITTED) {
    return WRITTEN;
  }
  if (decision) {
    return REFUSED;
  }
  deps.log.error(
    { txn_id: next.txnId, state: next.state },
    'a committed transaction vanished from the log: it was lost with the store',
  );
  return WRITTEN;
}
