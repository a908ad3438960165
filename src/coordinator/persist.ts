import { coerceError } from '../core/errors.ts';
import type { TxRecord } from '../core/tx-record.ts';
import { isDecided } from '../core/tx-state.ts';
import type { TxState } from '../core/tx-state.ts';
import { failpoint } from '../fault/failpoints.ts';
import { sleep } from '../time/clock.ts';
import { backoffMs } from './backoff.ts';
import type { RunDeps } from './run-deps.ts';
import type { WritePlan } from './write-plan.ts';

/**
 * Writes what a transition needs. Returns null when the caller may go on to
 * send its messages, or the record another decider logged first (the
 * caller adopts it and sends nothing).
 *
 * A decision write whose answer is lost (connection failure) is ambiguous:
 * nothing is sent until the store answers again and the row is re-read.
 * Present: go on. Still undecided: the write did not land and nobody was told
 * anything, so the same conditional write is issued again.
 */
export async function persistPlan(
  deps: RunDeps,
  plan: WritePlan,
  next: TxRecord,
  onStall: (err: Error) => void,
): Promise<TxRecord | null> {
  switch (plan.kind) {
    case 'none':
      return null;
    case 'ack':
      for (const name of plan.names) {
        const p = next.participants.find((x) => x.name === name);
        // Safe to lose: recovery re-sends phase 2 to an unrecorded ack.
        deps.store.recordAck(next.txnId, name, p?.heuristic ?? null).catch(() => undefined);
      }
      return null;
    case 'decision': {
      await failpoint('after_votes_before_decision');
      const adopted = await retryUntilKnown(
        deps,
        onStall,
        next,
        (s) => !isDecided(s),
        async () => {
          const written = deps.store.recordDecision({ tx: next, forced: plan.forced });
          await failpoint('during_decision_write');
          return written;
        },
      );
      if (adopted === null) {
        await failpoint('after_decision_logged');
      }
      return adopted;
    }
    case 'completion':
      await failpoint('before_completion_logged');
      return retryUntilKnown(
        deps,
        onStall,
        next,
        (s) => s === plan.from,
        () => deps.store.recordCompletion(next, plan.from),
      );
  }
}

async function retryUntilKnown(
  deps: RunDeps,
  onStall: (err: Error) => void,
  next: TxRecord,
  stillOwed: (logged: TxState) => boolean,
  write: () => Promise<boolean>,
): Promise<TxRecord | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      if (await write()) {
        return null;
      }
      return await readWinner(deps, next);
    } catch (err) {
      onStall(coerceError(err));
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
    if (
      !(await sleep(deps.clock, backoffMs(deps.config.retry, attempt, deps.random), deps.signal))
    ) {
      throw new Error('shutting down with a log write unresolved; recovery will finish it');
    }
    const stored = await deps.store.get(next.txnId).catch(() => undefined);
    if (stored === undefined || stored === null || stillOwed(stored.state)) {
      continue;
    }
    return stored.state === next.state ? null : stored;
  }
}

async function readWinner(deps: RunDeps, next: TxRecord): Promise<TxRecord> {
  const stored = await deps.store.get(next.txnId);
  if (stored === null) {
    throw new Error(`transaction ${next.txnId} vanished from the log`);
  }
  deps.log.info(
    { txn_id: next.txnId, ours: next.state, logged: stored.state },
    'another decision was logged first; adopting it',
  );
  return stored;
}
