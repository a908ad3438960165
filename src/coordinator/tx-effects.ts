import { trace } from '@opentelemetry/api';
import type { Context, Span } from '@opentelemetry/api';
import type { Effect } from '../core/effect.ts';
import { ParticipantUnavailableError, coerceError } from 'twopc/internal/contract/errors';
import { truncateReason } from 'twopc/internal/contract/limits';
import type { TxRecord } from '../core/tx-record.ts';
import type { TxEvent } from '../core/tx-event.ts';
import { isTerminal } from 'twopc/internal/contract/tx-state';
import { failpoint } from '../fault/failpoints.ts';
import type { Watch } from '../participant/health-monitor.ts';
import type { ParticipantCall } from '../participant/participant-client.ts';
import type { Logger } from '../telemetry/logger.ts';
import { ATTR, SPAN, endWithError, headersFor, tracer } from 'twopc/internal/telemetry/tracing';
import { sleep } from 'twopc/internal/time/clock';
import { backoffMs } from 'twopc/internal/shared/backoff';
import type { RunDeps } from './run-deps.ts';
import type { SentPrepare } from './early-prepares.ts';

/** What the participant calls of a run need from it. */
export interface RunHandle {
  readonly tx: TxRecord;
  readonly deps: RunDeps;
  readonly ctx: Context;
  readonly log: Logger;
  /** The run has finished (or handed over): stop delivering. */
  readonly done: boolean;
  /** Aborts when an operator asks for phase 2 now. */
  readonly wakeSignal: AbortSignal;
  safeApply(event: TxEvent): Promise<void>;
  /** A Prepare sent to this participant before the run began, if any (see EarlyPrepares). */
  takeEarlyPrepare(name: string, endpoint: string): SentPrepare | null;
  /** This run's Prepare to the participant was refused at connect: it never reached it. */
  markUnreached(name: string): void;
  /** Whether this run knows that no Prepare ever reached the participant. */
  neverReached(name: string): boolean;
}

type PhaseTwo = Effect & { type: 'send:commit' | 'send:abort' };

/** Starts a child span for a participant call and builds the call with its trace headers. */
export function callSpan(
  run: RunHandle,
  name: string,
  spanName: string,
  timeoutMs: number,
  attempt: number,
): { span: Span; call: ParticipantCall } {
  const p = run.tx.participants.find((x) => x.name === name);
  if (p === undefined) {
    throw new Error(`unknown participant ${name}`);
  }
  const attributes = {
    [ATTR.TXN_ID]: run.tx.txnId,
    [ATTR.PARTICIPANT]: name,
    [ATTR.ENDPOINT]: p.endpoint,
    [ATTR.ATTEMPT]: attempt,
  };
  const span = tracer().startSpan(spanName, { attributes }, run.ctx);
  const traceHeaders = headersFor(trace.setSpan(run.ctx, span));
  return {
    span,
    call: { endpoint: p.endpoint, txnId: run.tx.txnId, name, timeoutMs, traceHeaders },
  };
}

/** Rejects when the watched participant goes DOWN. */
export function downed(watch: Watch): Promise<never> {
  const down = watch.down ? Promise.resolve('it is DOWN') : watch.whenDown;
  return down.then((why) => Promise.reject(new Error(`no heartbeat: ${why}`)));
}

/**
 * Before a Prepare or a one-phase Commit leaves for an endpoint believed
 * DOWN, it is checked at once: one back from a restart gets its message
 * (and is up again for everyone). Returns why the message is not sent, or
 * null when it may go (DESIGN §3 rule 16: "did not answer" only after a
 * message left).
 */
export async function unsendable(
  run: RunHandle,
  watch: Watch,
  endpoint: string,
  what: string,
): Promise<string | null> {
  if (!watch.down || (await run.deps.health.probeNow(endpoint))) {
    return null;
  }
  return `${what} not sent: it is marked DOWN (missed heartbeats), and a health check made at once got no answer`;
}

/**
 * Phase 1 for one participant. One that stops answering heartbeats fails its
 * Prepare at once; one that is alive but slow keeps its full prepare timeout.
 */
export async function prepare(run: RunHandle, name: string): Promise<void> {
  const { participants, config, health, clock, metrics } = run.deps;
  const endpoint = run.tx.participants.find((x) => x.name === name)?.endpoint ?? '';
  const early = run.takeEarlyPrepare(name, endpoint);
  const { span, call } = early ?? callSpan(run, name, SPAN.PREPARE, config.prepareTimeoutMs, 1);
  const watch = health.watch(call.endpoint);
  const started = early?.started ?? clock.now();
  try {
    // An early Prepare has left already: the check still matters, for its
    // answer is raced against the endpoint being DOWN.
    const notSent = await unsendable(run, watch, call.endpoint, 'Prepare');
    if (notSent !== null && early === null) {
      throw new ParticipantUnavailableError(name, notSent, undefined, false);
    }
    const sent = early?.answer ?? participants.prepare(call);
    if (early === null) {
      await failpoint('after_prepare_sent');
    }
    const answer = await Promise.race([sent, downed(watch)]);
    metrics.phase('prepare', (clock.now() - started) / 1000, true);
    span.setAttribute(ATTR.VOTE, answer.vote);
    span.end();
    const reason = answer.reason === null ? null : truncateReason(answer.reason);
    await run.safeApply({ type: 'vote:received', name, vote: answer.vote, reason });
  } catch (err) {
    if (err instanceof ParticipantUnavailableError && !err.mayHaveReached) {
      run.markUnreached(name);
    }
    if (err instanceof ParticipantUnavailableError && err.remoteWords !== null) {
      const suppressed = run.deps.warnings.allow(`prepare:${call.endpoint}`);
      if (suppressed !== null) {
        run.log.warn(
          {
            participant: name,
            err: err.message,
            remote: err.remoteWords,
            similar_suppressed: suppressed,
          },
          'prepare failed',
        );
      }
    }
    metrics.phase('prepare', (clock.now() - started) / 1000, false);
    if (watch.down) {
      trace.getSpan(run.ctx)?.addEvent('participant.down', { [ATTR.PARTICIPANT]: name });
    }
    endWithError(span, err);
    await run.safeApply({
      type: 'prepare:failed',
      name,
      reason: truncateReason(coerceError(err).message),
    });
  } finally {
    watch.release();
  }
}

/**
 * Phase 2 until acknowledged. Timeouts never abort here: a silent
 * participant is retried with backoff, one that is DOWN is parked until it
 * answers heartbeats again.
 */
export async function deliver(run: RunHandle, effect: PhaseTwo): Promise<void> {
  const endpoint = run.tx.participants.find((x) => x.name === effect.name)?.endpoint ?? '';
  const watch = run.deps.health.watch(endpoint);
  try {
    for (let attempt = 1; !run.deps.signal.aborted; attempt++) {
      const p = run.tx.participants.find((x) => x.name === effect.name);
      if (p === undefined || p.acked || isTerminal(run.tx.state) || run.done) {
        return;
      }
      if (await attemptPhaseTwo(run, effect, attempt, watch)) {
        return;
      }
    }
  } finally {
    watch.release();
  }
}

async function attemptPhaseTwo(
  run: RunHandle,
  effect: PhaseTwo,
  attempt: number,
  watch: Watch,
): Promise<boolean> {
  const { participants, config, clock, signal, store, random, metrics } = run.deps;
  const phase = effect.type === 'send:commit' ? 'commit' : 'abort';
  const { span, call } = callSpan(
    run,
    effect.name,
    phase === 'commit' ? SPAN.COMMIT : SPAN.ABORT,
    config.callTimeoutMs,
    attempt,
  );
  const started = clock.now();
  try {
    const sent =
      phase === 'commit'
        ? participants.commit(call, false)
        : participants.abort(call, run.tx.reason ?? '');
    await failpoint(phase === 'commit' ? 'after_commit_sent' : 'after_abort_sent');
    const ack = await sent;
    metrics.phase(phase, (clock.now() - started) / 1000, true);
    span.end();
    await run.safeApply({ type: 'ack:received', name: effect.name, outcome: ack.outcome });
    reportHeuristic(run, effect.name);
    return true;
  } catch (err) {
    metrics.phase(phase, (clock.now() - started) / 1000, false);
    metrics.retry(phase);
    endWithError(span, err);
    // The participant's words: storable, so they never stop the record.
    const message = truncateReason(coerceError(err).message);
    const wait = backoffMs(config.retry, attempt, random);
    const suppressed = run.deps.warnings.allow(`phase2:${call.endpoint}`);
    if (suppressed !== null) {
      run.log.warn(
        {
          participant: effect.name,
          endpoint: call.endpoint,
          attempt,
          retry_in_ms: wait,
          down: watch.down,
          err: message,
          // The participant's own words: in the operator's log, never in last_error.
          ...(err instanceof ParticipantUnavailableError && err.remoteWords !== null
            ? { remote: err.remoteWords }
            : {}),
          similar_suppressed: suppressed,
        },
        'phase-2 delivery failed; retrying',
      );
    }
    if (phase === 'abort' && attempt >= config.abortAttempts && mayGiveUp(run, effect.name)) {
      await store
        .recordDeliveryFailure(run.tx.txnId, effect.name, attempt, givenUp(attempt, message), 0)
        .catch(() => undefined);
      await run.safeApply({ type: 'abort:undeliverable', name: effect.name });
      return true;
    }
    store
      .recordDeliveryFailure(run.tx.txnId, effect.name, attempt, message, wait)
      .catch(() => undefined);
    const wakeable = AbortSignal.any([signal, run.wakeSignal]);
    // A participant DOWN is parked until it answers again, unless it may be
    // given up on: then its attempts must keep counting.
    if (watch.down && !(phase === 'abort' && mayGiveUp(run, effect.name))) {
      await untilAborted(watch.whenUp(), wakeable);
    } else {
      await sleep(clock, wait, wakeable);
    }
    return false;
  }
}

/**
 * Whether this Abort may go undelivered: the core allows it for a
 * participant that never voted, and the run knows that no Prepare ever
 * reached it (no connection was made for it, or it was not sent: DOWN).
 * One that may have received a Prepare, early or not, keeps being told
 * until it acknowledges, whatever the log knows of its vote (DESIGN §3
 * rule 4).
 */
function mayGiveUp(run: RunHandle, name: string): boolean {
  const p = run.tx.participants.find((x) => x.name === name);
  return !run.tx.onePhase && p !== undefined && p.vote === null && run.neverReached(name);
}

function givenUp(attempts: number, last: string): string {
  return truncateReason(
    `gave up after ${attempts} Abort attempts (${last}); no Prepare ever reached it, so it holds nothing`,
  );
}

function reportHeuristic(run: RunHandle, name: string): void {
  const heuristic = run.tx.participants.find((x) => x.name === name)?.heuristic ?? null;
  if (heuristic !== null) {
    run.deps.metrics.heuristic(heuristic);
    trace
      .getSpan(run.ctx)
      ?.addEvent('heuristic', { [ATTR.PARTICIPANT]: name, [ATTR.OUTCOME]: heuristic });
    run.log.error(
      { participant: name, decided: run.tx.state, reported: heuristic },
      'heuristic outcome: a participant ended its branch against the decision',
    );
  }
}

/** Waits for a promise or the signal, whichever comes first. */
function untilAborted(work: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    signal.addEventListener('abort', () => resolve(), { once: true });
    void work.then(resolve);
  });
}
