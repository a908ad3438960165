import type { Span } from '@opentelemetry/api';
import { outcomeOf } from '../core/decide.ts';
import type { AbortKind } from '../core/tx-event.ts';
import type { TxRecord } from '../core/tx-record.ts';
import { Outcome, isTerminal } from 'twopc/internal/contract/tx-state';
import type { TwopcMetrics } from '../telemetry/metrics.ts';
import { ATTR, endWithError } from 'twopc/internal/telemetry/tracing';
import { deferred } from './deferred.ts';
import type { Deferred } from './deferred.ts';

/**
 * What waits on a run: the callers of Commit and Abort (its decision), of
 * Commit with acknowledgements and of shutdown (its end), the delivery
 * loops (a wake-up from an operator), the transaction's span. Each is
 * settled only from a record the log holds (see TxRun).
 */
export class RunWaiters {
  readonly #decided = deferred<TxRecord>();
  readonly #finished = deferred<TxRecord>();
  #stall: Deferred<Error> | null = null;
  #wake = new AbortController();
  readonly #span: Span | null;
  readonly #metrics: TwopcMetrics;

  /** @param span the transaction's span when the run owns it (ended when the run finishes) */
  constructor(span: Span | null, metrics: TwopcMetrics) {
    this.#span = span;
    this.#metrics = metrics;
  }

  /** Resolves once the outcome is durable (commit forced) or known. */
  get decided(): Promise<TxRecord> {
    return this.#decided.promise;
  }

  /** Resolves once every participant acknowledged and the final state is logged. */
  get finished(): Promise<TxRecord> {
    return this.#finished.promise;
  }

  get done(): boolean {
    return this.#finished.settled;
  }

  /** Fires when an operator asks for phase 2 now (see wake()). */
  get wakeSignal(): AbortSignal {
    return this.#wake.signal;
  }

  /** Cuts every backoff wait short: phase 2 is re-sent now. */
  wake(): void {
    const current = this.#wake;
    this.#wake = new AbortController();
    current.abort();
  }

  /** Resolves with the next store error that holds up the run. */
  nextStall(): Promise<Error> {
    this.#stall ??= deferred<Error>();
    return this.#stall.promise;
  }

  /** A store error holds the run up: whoever waits hears of it. */
  stalled(err: Error): void {
    this.#stall?.resolve(err);
    this.#stall = null;
  }

  /**
   * Resolves what a logged record allows.
   * @param counted whether this run decided the outcome (and so counts it)
   * @param abortKind why this run decided an abort, if it did (a metric label)
   */
  settle(tx: TxRecord, counted: boolean, abortKind: AbortKind): void {
    const outcome = outcomeOf(tx);
    if (outcome !== Outcome.PENDING && !this.#decided.settled) {
      this.#decided.resolve(tx);
    }
    if (!isTerminal(tx.state) || this.#finished.settled) {
      return;
    }
    this.#finished.resolve(tx);
    if (counted) {
      this.#metrics.finished(outcome, outcome === Outcome.ABORTED ? abortKind : null);
    }
    const reason = tx.reason ?? '';
    if (/^LEASE_EXPIRED$|DEADLINE_EXCEEDED|no heartbeat|did not answer/.test(reason)) {
      this.#span?.addEvent('timeout', { [ATTR.REASON]: reason });
    }
    this.#span?.setAttributes({
      [ATTR.OUTCOME]: outcome,
      [ATTR.REASON]: reason,
      [ATTR.ONE_PHASE]: tx.onePhase,
    });
    this.#span?.end();
  }

  /** Ends the run without an outcome (shutdown): recovery finishes it later. */
  stop(err: Error): void {
    if (!this.#decided.settled) {
      this.#decided.reject(err);
    }
    if (!this.#finished.settled) {
      this.#finished.reject(err);
      if (this.#span !== null) {
        endWithError(this.#span, err);
      }
    }
  }
}
