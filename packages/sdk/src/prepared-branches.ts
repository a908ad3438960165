import { metrics } from '@opentelemetry/api';
import type { BatchObservableResult, Observable } from '@opentelemetry/api';
import { SystemClock } from './time/system-clock.ts';
import type { Clock } from './time/clock.ts';

/** Gauge names, in one place (the docs' runbook and dashboards read them). */
export const PREPARED_METRICS = {
  COUNT: 'twopc.participant.prepared_branches',
  OLDEST_AGE: 'twopc.participant.oldest_prepared_age',
} as const;

/**
 * The prepared branches of one resource manager as this process knows
 * them (prepared here, or listed by the database at a sweep), with when
 * each was first seen prepared; exported as two gauges through the
 * OpenTelemetry metrics API (no-ops until the application registers a
 * meter provider, which it must do before creating the participant).
 */
export class PreparedBranches {
  readonly #since = new Map<string, number>();
  readonly #attributes: { 'twopc.participant.name': string; 'db.system': string };
  readonly #count: Observable;
  readonly #age: Observable;
  readonly #observe: (result: BatchObservableResult) => void;
  readonly #clock: Clock;

  constructor(participant: string, database: string, clock: Clock = new SystemClock()) {
    this.#clock = clock;
    this.#attributes = { 'twopc.participant.name': participant, 'db.system': database };
    const meter = metrics.getMeter('twopc');
    this.#count = meter.createObservableGauge(PREPARED_METRICS.COUNT, {
      description: 'Branches prepared in this participant’s database and not yet finished',
    });
    this.#age = meter.createObservableGauge(PREPARED_METRICS.OLDEST_AGE, {
      description: 'How long the oldest of them has been prepared (since first seen)',
      unit: 's',
    });
    this.#observe = (result) => {
      result.observe(this.#count, this.#since.size, this.#attributes);
      result.observe(this.#age, this.oldestAgeMs() / 1000, this.#attributes);
    };
    meter.addBatchObservableCallback(this.#observe, [this.#count, this.#age]);
  }

  add(txnId: string): void {
    if (!this.#since.has(txnId)) {
      this.#since.set(txnId, this.#clock.now());
    }
  }

  remove(txnId: string): void {
    this.#since.delete(txnId);
  }

  /** The database's whole list of them: new ones are added, the rest dropped. */
  seen(listed: readonly string[]): void {
    const now = new Set(listed);
    for (const id of this.#since.keys()) {
      if (!now.has(id)) {
        this.#since.delete(id);
      }
    }
    listed.forEach((id) => this.add(id));
  }

  get size(): number {
    return this.#since.size;
  }

  /** Age of the oldest, 0 when none. */
  oldestAgeMs(): number {
    const oldest = Math.min(...this.#since.values());
    return Number.isFinite(oldest) ? this.#clock.now() - oldest : 0;
  }

  close(): void {
    metrics
      .getMeter('twopc')
      .removeBatchObservableCallback(this.#observe, [this.#count, this.#age]);
  }
}
