import { Outcome } from 'twopc/internal/contract/tx-state';
import { ABORT_KINDS } from '../core/tx-event.ts';
import type { AbortKind } from '../core/tx-event.ts';
import type { Attributes, Histogram, Meter, Counter } from '@opentelemetry/api';

const LATENCY_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** Live values read when metrics are scraped. */
export interface MetricSources {
  inFlight(): number;
  /** Transactions in COMMITTING/ABORTING past the stuck threshold, and undecided PREPARING ones. */
  backlog(): { stuck: number; inDoubt: number };
  /** Per endpoint being watched: 1 up, 0 DOWN. */
  participantHealth(): Map<string, boolean>;
  /** Connections per shard and pool (forced, lazy): total, idle, waiting clients. */
  pools(): { pool: string; shard: number; total: number; idle: number; waiting: number }[];
  /** New work waiting on the log now, and refused (store overloaded) so far. */
  admission(): { pending: number; refused: number };
  /** Per shard of the log: whether it answered the last lease sweep, and its weight. */
  shards(): { shard: number; up: boolean; weight: number; unfinished: number }[];
  /** This build's release, and the log's schema (its newest migration) when it started. */
  build(): { version: string; logSchema: number };
  /** Calls that named a log shard this coordinator is not configured with, so far. */
  unknownShardCalls(): number;
}

/**
 * twopc's metrics on an OpenTelemetry meter (exported in Prometheus format
 * by the entry point). Names follow Prometheus conventions once exported.
 */
export class TwopcMetrics {
  readonly #begun: Counter;
  readonly #finished: Counter;
  readonly #retries: Counter;
  readonly #calls: Counter;
  readonly #batches: Counter;
  readonly #heuristics: Counter;
  readonly #recoveries: Counter;
  readonly #recovered: Counter;
  readonly #phase: Histogram;
  readonly #decision: Histogram;

  constructor(meter: Meter) {
    this.#begun = meter.createCounter('twopc_transactions_begun', {
      description: 'Transactions begun',
    });
    this.#finished = meter.createCounter('twopc_transactions_finished', {
      description: 'Transactions decided, by outcome and reason',
    });
    this.#retries = meter.createCounter('twopc_phase2_retries', {
      description: 'Phase-2 deliveries that failed and will be retried',
    });
    this.#heuristics = meter.createCounter('twopc_heuristic_outcomes', {
      description: 'Participants that reported an outcome against the decision',
    });
    this.#recoveries = meter.createCounter('twopc_recovery_runs', {
      description: 'Recovery scans run',
    });
    this.#recovered = meter.createCounter('twopc_recovered_transactions', {
      description: 'Transactions taken over from dead coordinators',
    });
    this.#calls = meter.createCounter('twopc_participant_calls', {
      description:
        'Prepare, Commit and Abort calls sent to participants, by transport (unary, or batched on a stream)',
    });
    this.#batches = meter.createCounter('twopc_participant_batches', {
      description:
        'Messages that carried batched participant calls (calls ÷ batches: calls per message)',
    });
    // Every counter series exists from start-up, at zero: dashboards and
    // alerts see 0, not "no data", and rate() over the first event works.
    for (const transport of ['unary', 'batched']) {
      this.#calls.add(0, { transport });
    }
    this.#batches.add(0);
    this.#begun.add(0);
    this.#finished.add(0, { outcome: Outcome.COMMITTED, reason: 'none' });
    for (const reason of ABORT_KINDS) {
      this.#finished.add(0, { outcome: Outcome.ABORTED, reason });
    }
    for (const phase of ['commit', 'abort']) {
      this.#retries.add(0, { phase });
    }
    for (const reported of [Outcome.COMMITTED, Outcome.ABORTED]) {
      this.#heuristics.add(0, { reported });
    }
    this.#recoveries.add(0);
    this.#recovered.add(0);
    const advice = { explicitBucketBoundaries: LATENCY_BUCKETS_S };
    this.#phase = meter.createHistogram('twopc_phase_duration_seconds', {
      description: 'Participant call latency by phase',
      unit: 's',
      advice,
    });
    this.#decision = meter.createHistogram('twopc_decision_write_seconds', {
      description: 'Decision write latency (forced), by decision (commit or abort)',
      unit: 's',
      advice,
    });
  }

  /** Registers the gauges read at scrape time. */
  observe(meter: Meter, sources: MetricSources): void {
    // Which releases share the log (a rolling upgrade shows two): one
    // series per coordinator, its version and the log's schema as labels.
    meter
      .createObservableGauge('twopc_build_info', {
        description: "1, labelled with this coordinator's release and the log's schema version",
      })
      .addCallback((r) => {
        const b = sources.build();
        r.observe(1, { version: b.version, log_schema: String(b.logSchema) });
      });
    meter
      .createObservableGauge('twopc_transactions_in_flight', {
        description: 'Transactions driven by this coordinator now',
      })
      .addCallback((r) => r.observe(sources.inFlight()));
    const backlog = meter.createObservableGauge('twopc_transactions_backlog', {
      description:
        'Stuck (phase 2 unfinished past the threshold) and IN_DOUBT (a one-phase Commit whose answer never came: only its participant knows the outcome) transactions',
    });
    backlog.addCallback((r) => {
      const b = sources.backlog();
      r.observe(b.stuck, { kind: 'stuck' });
      r.observe(b.inDoubt, { kind: 'in_doubt' });
    });
    meter
      .createObservableGauge('twopc_participant_up', {
        description: '1 when a participant answers heartbeats, 0 when DOWN',
      })
      .addCallback((r) =>
        sources.participantHealth().forEach((up, endpoint) => r.observe(up ? 1 : 0, { endpoint })),
      );
    meter
      .createObservableGauge('twopc_store_connections', {
        description: 'PostgreSQL pool connections by state',
      })
      .addCallback((r) => {
        for (const p of sources.pools()) {
          const shard = String(p.shard);
          r.observe(p.total - p.idle, { pool: p.pool, state: 'busy', shard });
          r.observe(p.idle, { pool: p.pool, state: 'idle', shard });
          r.observe(p.waiting, { pool: p.pool, state: 'waiting_clients', shard });
        }
      });
    const perShard = (
      name: string,
      description: string,
      value: (s: ReturnType<MetricSources['shards']>[number]) => number,
    ): void => {
      meter
        .createObservableGauge(name, { description })
        .addCallback((r) =>
          sources.shards().forEach((s) => r.observe(value(s), { shard: String(s.shard) })),
        );
    };
    perShard(
      'twopc_store_up',
      '1 while the log store (PostgreSQL; per shard of the log) answers, 0 while it does not',
      (s) => (s.up ? 1 : 0),
    );
    perShard(
      'twopc_log_shard_weight',
      "Each log shard's weight: its share of new transactions (0: drained)",
      (s) => s.weight,
    );
    perShard(
      'twopc_log_shard_unfinished',
      "Each log shard's unfinished transactions, every coordinator's (a drained shard can be removed at 0)",
      (s) => s.unfinished,
    );
    meter
      .createObservableGauge('twopc_store_pending_operations', {
        description:
          'New-work operations (Begin, Enlist, Heartbeat, start of Commit) waiting on PostgreSQL',
      })
      .addCallback((r) => r.observe(sources.admission().pending));
    meter
      .createObservableCounter('twopc_unknown_shard_calls_total', {
        description:
          'Calls naming a log shard this coordinator is not configured with, answered UNAVAILABLE (the shard id is in the warning log, not a label)',
      })
      .addCallback((r) => r.observe(sources.unknownShardCalls()));
    meter
      .createObservableCounter('twopc_store_refused_total', {
        description: 'New work refused with RESOURCE_EXHAUSTED because PostgreSQL was too slow',
      })
      .addCallback((r) => r.observe(sources.admission().refused));
  }

  /** Participant calls sent, and batches (messages on a stream). */
  participantCalls(transport: 'unary' | 'batched', calls: number): void {
    this.#calls.add(calls, { transport });
    if (transport === 'batched') {
      this.#batches.add(1);
    }
  }

  begun(): void {
    this.#begun.add(1);
  }

  /** @param kind why it aborted (decided by this process), or null for a commit */
  finished(outcome: string, kind: AbortKind | null): void {
    const attrs: Attributes = { outcome, reason: kind ?? 'none' };
    this.#finished.add(1, attrs);
  }

  phase(phase: 'prepare' | 'commit' | 'abort', seconds: number, ok: boolean): void {
    this.#phase.record(seconds, { phase, result: ok ? 'ok' : 'error' });
  }

  decisionWrite(seconds: number, commit: boolean): void {
    this.#decision.record(seconds, { decision: commit ? 'commit' : 'abort' });
  }

  retry(phase: 'commit' | 'abort'): void {
    this.#retries.add(1, { phase });
  }

  heuristic(reported: string): void {
    this.#heuristics.add(1, { reported });
  }

  recovery(taken: number): void {
    this.#recoveries.add(1);
    this.#recovered.add(taken);
  }
}
