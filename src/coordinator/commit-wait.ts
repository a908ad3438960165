import {
  DeadlineExceededError,
  StoreUnavailableError,
  TxNotFoundError,
} from 'twopc/internal/contract/errors';
import type { TxId, TxRecord } from '../core/tx-record.ts';
import type { TxView } from '../store/transaction-store.ts';
import { sleep } from 'twopc/internal/time/clock';
import { raceSignal } from './race-signal.ts';
import type { RunDeps } from './run-deps.ts';
import type { TxRun } from './tx-run.ts';

/**
 * Waits for a run's durable decision; a store error that holds it up answers
 * UNAVAILABLE at once (the run keeps trying), and `until` DEADLINE_EXCEEDED.
 */
export async function awaitDecision(run: TxRun, until: AbortSignal): Promise<TxRecord> {
  return awaitRun(run, run.decided, until);
}

/**
 * Waits for work of a run; a store error that holds the run up answers
 * UNAVAILABLE at once (the run keeps trying), and `until` DEADLINE_EXCEEDED.
 */
export async function awaitRun<T>(run: TxRun, work: Promise<T>, until: AbortSignal): Promise<T> {
  const stalled = run.nextStall().then((err) => Promise.reject(new StoreUnavailableError(err)));
  const raced = Promise.race([work, stalled]);
  // Once `work` wins, or `until` has fired, a later stall rejects with
  // nobody listening: an unhandled rejection ends the process.
  raced.catch(() => undefined);
  return raceSignal(raced, until, 'the decision is not durable yet; call Commit again');
}

/** Reads the log until `done` or `until` fires (work driven elsewhere). */
export async function pollLog(
  deps: Pick<RunDeps, 'store' | 'clock'>,
  txnId: TxId,
  until: AbortSignal,
  done: (v: TxView) => boolean,
): Promise<TxView> {
  for (let attempt = 1; ; attempt++) {
    const view = await deps.store.get(txnId);
    if (view === null) {
      throw new TxNotFoundError(txnId);
    }
    if (done(view)) {
      return view;
    }
    if (!(await sleep(deps.clock, Math.min(1000, 50 * attempt), until))) {
      throw new DeadlineExceededError(
        `transaction ${txnId} is ${view.state} and driven by another coordinator; ask again`,
      );
    }
  }
}
