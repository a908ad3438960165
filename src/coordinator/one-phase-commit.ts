import { ParticipantUnavailableError, coerceError } from 'twopc/internal/contract/errors';
import { truncateReason } from 'twopc/internal/contract/limits';
import { Outcome, TxState } from 'twopc/internal/contract/tx-state';
import { ATTR, SPAN, endWithError } from 'twopc/internal/telemetry/tracing';
import { sleep } from 'twopc/internal/time/clock';
import { backoffMs } from 'twopc/internal/shared/backoff';
import type { Watch } from '../participant/health-monitor.ts';
import { callSpan, downed, unsendable } from './tx-effects.ts';
import type { RunHandle } from './tx-effects.ts';

/** Whether a failed call provably never reached its participant. */
function neverArrived(err: unknown): boolean {
  return err instanceof ParticipantUnavailableError && !err.mayHaveReached;
}

/**
 * The one-phase commit of a lone participant: its answer is the outcome.
 * A Commit that provably never reached it (every attempt unsent) aborts at
 * once; one that may have arrived and went unanswered leaves the
 * transaction in doubt (DESIGN §3 rules 15 and 16).
 */
export async function commitOnePhase(run: RunHandle, name: string): Promise<void> {
  const { config, clock, signal, health, random } = run.deps;
  const endpoint = run.tx.participants.find((x) => x.name === name)?.endpoint ?? '';
  const watch = health.watch(endpoint);
  const started = clock.now();
  try {
    const notSent = await unsendable(run, watch, endpoint, 'the one-phase Commit');
    if (notSent !== null) {
      await unsent(run, name, notSent);
      return;
    }
    for (let attempt = 1; run.tx.state === TxState.PREPARING && !signal.aborted; attempt++) {
      const err = await commitAttempt(run, name, attempt, watch);
      if (err === null) {
        return;
      }
      if (neverArrived(err) && attempt === 1) {
        await unsent(run, name, coerceError(err).message);
        return;
      }
      if (watch.down || clock.now() - started >= config.prepareTimeoutMs) {
        // Its Abort answer tells whether the commit landed after all.
        const reason = `participant '${name}' did not answer the one-phase commit: ${coerceError(err).message}`;
        await run.safeApply({
          type: 'abort:requested',
          reason: truncateReason(reason),
          kind: 'PARTICIPANT_FAILED',
        });
        return;
      }
      await sleep(clock, backoffMs(config.retry, attempt, random), signal);
    }
  } finally {
    watch.release();
  }
}

/** The one-phase Commit never reached its participant: ABORTED, now. */
async function unsent(run: RunHandle, name: string, why: string): Promise<void> {
  const reason = `participant '${name}' was never reached by the one-phase commit, so it committed nothing: ${why}`;
  await run.safeApply({ type: 'onephase:unsent', reason: truncateReason(reason) });
}

/** One one-phase Commit: null once answered (and applied), else why it failed. */
async function commitAttempt(
  run: RunHandle,
  name: string,
  attempt: number,
  watch: Watch,
): Promise<unknown> {
  const { span, call } = callSpan(
    run,
    name,
    SPAN.COMMIT,
    run.deps.config.prepareTimeoutMs,
    attempt,
  );
  span.setAttribute(ATTR.ONE_PHASE, true);
  try {
    const ack = await Promise.race([run.deps.participants.commit(call, true), downed(watch)]);
    span.setAttribute(ATTR.OUTCOME, ack.outcome ?? Outcome.COMMITTED);
    span.end();
    // An answer without an outcome is a plain acknowledgement: committed.
    await run.safeApply({
      type: 'onephase:answered',
      outcome: ack.outcome ?? Outcome.COMMITTED,
      reason: ack.reason === null ? null : truncateReason(ack.reason),
    });
    return null;
  } catch (err) {
    endWithError(span, err);
    return err;
  }
}
