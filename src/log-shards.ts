import { setTimeout as delay } from 'node:timers/promises';
import { coerceError } from 'twopc/internal/contract/errors';
import { backoffMs } from 'twopc/internal/shared/backoff';
import type { Clock } from 'twopc/internal/time/clock';
import type { Config } from './config.ts';
import type { Coordinator } from './coordinator/coordinator.ts';
import { Maintenance } from './coordinator/maintenance.ts';
import type { ShardSpec } from './shards-file.ts';
import { MigrationError, migrateLog } from './store/migrate.ts';
import { isConnectionError } from './store/pg-errors.ts';
import { LogSessionError, openCheckedPools } from './store/pg-session-check.ts';
import { PgTransactionStore } from './store/pg-transaction-store.ts';
import { redactUrl } from './store/redact-url.ts';
import { ShardedLog } from './store/sharded-log.ts';
import type { Logger } from './telemetry/logger.ts';
import { WarnLimiter } from './telemetry/warn-limiter.ts';

/** What the shards report to the rest of the process. */
export interface ShardHooks {
  /** Some shard became reachable or unreachable (the gRPC health follows `anyUp`). */
  reachability(): void;
  recovered(taken: number): void;
  /** A shard's database is known (its address is never dialled as a participant). */
  opened(spec: ShardSpec): void;
}

/** A shard as logs and metrics show it. */
export interface ShardStatus {
  readonly shard: number;
  readonly weight: number;
  readonly up: boolean;
  readonly unfinished: number;
  /** Its URL, password redacted. */
  readonly database: string;
  readonly schema: string;
}

/** An open shard: its store and, once the coordinator runs, its background work. */
interface OpenShard {
  /** Its entry in the shards file (the weight changes on reload). */
  spec: ShardSpec;
  readonly store: PgTransactionStore;
  readonly logSchema: number;
  maintenance: Maintenance | null;
}

const RETRY = { baseMs: 250, capMs: 5_000 };

/** An error that waiting does not cure: the start is refused at once. */
function isFatal(err: unknown): boolean {
  return err instanceof MigrationError || err instanceof LogSessionError || !isConnectionError(err);
}

/**
 * The shards of the log and their lives (DESIGN §9): each is migrated,
 * opened and maintained on its own (its incarnation, this coordinator's
 * lease on it, recovery, retention, admission), so one that fails stops only
 * its own transactions. A shard that does not answer at start-up, or that
 * is added later, keeps being tried in the background while the others
 * serve. Without a shards file there is one shard, 0: the log as it always
 * was.
 */
export class LogShards {
  readonly log = new ShardedLog((shard, txnId) => this.#unknownShard(shard, txnId));
  readonly #open = new Map<number, OpenShard>();
  /** Shards being opened in the background, by id: their specs. */
  readonly #opening = new Map<number, ShardSpec>();
  /** Shards left out of the shards file, removed once they hold no unfinished transaction. */
  readonly #removing = new Set<number>();
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #clock: Clock;
  #coordinator: Coordinator | null = null;
  #hooks: ShardHooks | null = null;
  #stopped = false;
  #reloading: Promise<void> = Promise.resolve();

  readonly #unknownWarnings: WarnLimiter;

  constructor(config: Config, logger: Logger, clock: Clock) {
    this.#config = config;
    this.#logger = logger;
    this.#clock = clock;
    this.#unknownWarnings = new WarnLimiter(clock);
  }

  /** A call named a shard not in this coordinator's set: one warning per shard every 10 s. */
  #unknownShard(shard: number, txnId: string): void {
    const suppressed = this.#unknownWarnings.allow(String(shard));
    if (suppressed !== null) {
      this.#logger.warn(
        { shard, txn_id: txnId, similar_suppressed: suppressed },
        'a call named a log shard this coordinator is not configured with: answered UNAVAILABLE (is the shards file the same on every coordinator?)',
      );
    }
  }

  /** The shards as configured now. */
  get specs(): ShardSpec[] {
    return [...this.#open.values()].map((s) => s.spec).concat([...this.#opening.values()]);
  }

  /** The oldest log schema among open shards (what this process can rely on everywhere). */
  get logSchema(): number {
    const versions = [...this.#open.values()].map((s) => s.logSchema);
    return versions.length === 0 ? 0 : Math.min(...versions);
  }

  /**
   * Opens every shard. Waits for each for up to `--startup-wait-ms` (an
   * embedded log: not at all); shards that still do not answer keep being
   * tried in the background as long as one answered.
   * @throws the first shard's error when none answers, or a migration error
   */
  async open(specs: readonly ShardSpec[], retry: boolean): Promise<void> {
    specs.forEach((s) => this.log.declare(s.id, s.weight));
    const waitMs = retry ? this.#config.startupWaitMs : 0;
    const results = await Promise.allSettled(specs.map((s) => this.#tryOpen(s, waitMs)));
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ spec: specs[i]!, err: r.reason as unknown }] : [],
    );
    const fatal = failed.find((f) => isFatal(f.err));
    if (fatal !== undefined || failed.length === specs.length) {
      throw (fatal ?? failed[0]!).err;
    }
    for (const { spec, err } of failed) {
      this.#logger.error(
        { shard: spec.id, database: redactUrl(spec.url), err: coerceError(err).message },
        'log shard does not answer: serving the other shards, and trying it in the background',
      );
      this.#openInBackground(spec);
    }
  }

  /** Migrates and opens one shard, retrying connection failures for up to `waitMs`. */
  async #tryOpen(spec: ShardSpec, waitMs: number): Promise<void> {
    const started = this.#clock.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#openNow(spec);
        return;
      } catch (err) {
        const waited = this.#clock.now() - started;
        if (isFatal(err) || waited >= waitMs) {
          throw err;
        }
        const e = err as NodeJS.ErrnoException;
        this.#logger.warn(
          {
            ...(this.#config.logShards === null ? {} : { shard: spec.id }),
            database: redactUrl(spec.url),
            err: e.code ?? e.message,
            attempt,
            waited_ms: Math.round(waited),
            startup_wait_ms: waitMs,
          },
          this.#config.logShards === null
            ? 'the log (DATABASE_URL) does not answer yet; trying again'
            : 'log shard does not answer yet; trying again',
        );
        // A timer that keeps the process alive (the Clock's do not).
        await delay(Math.min(backoffMs(RETRY, attempt, Math.random), waitMs - waited));
      }
    }
  }

  async #openNow(spec: ShardSpec): Promise<void> {
    const { pools, prepared: logSchema } = await openCheckedPools(
      {
        url: spec.url,
        schema: spec.schema,
        maxConnections: this.#config.dbPoolSize,
        pooler: this.#config.logPooler,
        onError: (err) =>
          this.#logger.warn(
            { shard: spec.id, err: err.message },
            'idle PostgreSQL connection failed',
          ),
      },
      async () => {
        const migrated = await migrateLog(spec.url, spec.schema, (m) =>
          this.#logger.warn({ shard: spec.id }, m),
        );
        if (migrated.applied.length > 0) {
          this.#logger.info({ shard: spec.id, applied: migrated.applied }, 'migrations applied');
        }
        return migrated.logSchema;
      },
    );
    const store = new PgTransactionStore(pools, this.#clock, {
      maxPending: this.#config.storeMaxPending,
      stallMs: this.#config.storeStallMs,
    });
    const shard: OpenShard = { spec, store, logSchema, maintenance: null };
    try {
      await this.#maintain(shard);
    } catch (err) {
      await store.close();
      throw err;
    }
    this.#open.set(spec.id, shard);
    this.#opening.delete(spec.id);
    this.log.attach(spec.id, store);
    this.#hooks?.opened(spec);
    this.#hooks?.reachability();
  }

  /** Keeps trying a shard until it opens (or is removed, or the process stops). */
  #openInBackground(spec: ShardSpec): void {
    this.#opening.set(spec.id, spec);
    void (async () => {
      for (let attempt = 1; !this.#stopped && this.#opening.has(spec.id); attempt++) {
        await delay(backoffMs(RETRY, attempt, Math.random), undefined, { ref: false });
        const latest = this.#opening.get(spec.id); // its weight may have changed meanwhile
        if (this.#stopped || latest === undefined) {
          return;
        }
        try {
          await this.#openNow(latest);
          this.#logger.info({ shard: spec.id }, 'log shard open');
          return;
        } catch (err) {
          if (attempt === 1 || attempt % 10 === 0) {
            this.#logger.warn(
              { shard: spec.id, attempt, err: coerceError(err).message },
              'log shard still does not open; trying again',
            );
          }
        }
      }
    })();
  }

  /**
   * Starts the background work of every open shard (and of each that opens
   * later) for this coordinator.
   */
  async start(coordinator: Coordinator, hooks: ShardHooks): Promise<void> {
    this.#coordinator = coordinator;
    this.#hooks = hooks;
    for (const shard of this.#open.values()) {
      hooks.opened(shard.spec);
      await this.#maintain(shard).catch((err: unknown) => {
        // It answered a moment ago: keep trying in the background.
        this.#logger.warn(
          { shard: shard.spec.id, err: coerceError(err).message },
          'log shard stopped answering before its background work began; trying again',
        );
        this.#maintainInBackground(shard);
      });
    }
  }

  #maintainInBackground(shard: OpenShard): void {
    void (async () => {
      for (let attempt = 1; !this.#stopped && shard.maintenance === null; attempt++) {
        await delay(backoffMs(RETRY, attempt, Math.random), undefined, { ref: false });
        if (this.#stopped || this.#open.get(shard.spec.id) !== shard) {
          return;
        }
        await this.#maintain(shard).catch(() => undefined);
      }
    })();
  }

  /** Registers this coordinator on the shard and starts its loops (once a coordinator runs). */
  async #maintain(shard: OpenShard): Promise<void> {
    const coordinator = this.#coordinator;
    if (coordinator === null || shard.maintenance !== null) {
      return;
    }
    const id = shard.spec.id;
    const maintenance = new Maintenance(
      shard.store,
      coordinator,
      this.#clock,
      this.#config.logShards === null ? this.#logger : this.#logger.child({ shard: id }),
      {
        sweepIntervalMs: this.#config.sweepIntervalMs,
        recoveryIntervalMs: this.#config.recoveryIntervalMs,
        coordinatorLeaseMs: this.#config.coordinatorLeaseMs,
        retentionMs: this.#config.retentionHours * 3_600_000,
        retentionIntervalMs: 60_000,
        coordinatorName: this.#config.coordinatorName,
        stuckAfterMs: this.#config.stuckAfterMs,
      },
      {
        storeReachable: (ok) => {
          this.log.reachable(id, ok);
          this.#hooks?.reachability();
        },
        recovered: (taken) => this.#hooks?.recovered(taken),
      },
    );
    await maintenance.start();
    shard.maintenance = maintenance;
  }

  /**
   * Applies a new shard set (the shards file re-read on SIGHUP): new shards
   * open in the background, weights change at once, a removed shard closes
   * once it holds no unfinished transaction (else it is kept, drained, and
   * the operator is told to wait). A shard's database cannot change under
   * its number.
   */
  reload(specs: readonly ShardSpec[]): Promise<void> {
    // One at a time: two SIGHUPs in a row apply in order.
    const next = this.#reloading.then(() => this.#reload(specs));
    this.#reloading = next.catch(() => undefined);
    return next;
  }

  async #reload(specs: readonly ShardSpec[]): Promise<void> {
    const current = new Map(this.specs.map((s) => [s.id, s]));
    for (const spec of specs) {
      const was = current.get(spec.id);
      this.#removing.delete(spec.id); // named again: no longer being removed
      if (was === undefined) {
        this.log.declare(spec.id, spec.weight);
        this.#logger.info({ shard: spec.id, weight: spec.weight }, 'log shard added; opening it');
        this.#openInBackground(spec);
      } else if (was.url !== spec.url || was.schema !== spec.schema) {
        this.#logger.error(
          { shard: spec.id, database: redactUrl(was.url), asked: redactUrl(spec.url) },
          "a shard's database cannot change under its number (its transactions' ids name it): kept as it was; add the new database under a new number instead",
        );
      } else if (was.weight !== spec.weight) {
        this.log.declare(spec.id, spec.weight);
        this.#setSpec(spec);
        this.#logger.info({ shard: spec.id, weight: spec.weight }, 'log shard weight changed');
      }
    }
    for (const id of current.keys()) {
      if (!specs.some((s) => s.id === id)) {
        await this.#remove(id);
      }
    }
  }

  #setSpec(spec: ShardSpec): void {
    const open = this.#open.get(spec.id);
    if (open !== undefined) {
      open.spec = spec;
    } else if (this.#opening.has(spec.id)) {
      this.#opening.set(spec.id, spec);
    }
  }

  async #remove(id: number, again = false): Promise<void> {
    const shard = this.#open.get(id);
    if (shard === undefined) {
      this.#opening.delete(id); // never opened: nothing of it is known here
      this.log.remove(id);
      this.#logger.info({ shard: id }, 'log shard removed (it had not opened)');
      return;
    }
    let unfinished: number;
    try {
      unfinished = await shard.store.openCount(null);
    } catch (err) {
      this.#logger[again ? 'debug' : 'error'](
        { shard: id, err: coerceError(err).message },
        'log shard not removed yet: it does not answer, so whether it still holds unfinished transactions is unknown; drained (weight 0) until it answers',
      );
      this.log.declare(id, 0);
      this.#setSpec({ ...shard.spec, weight: 0 });
      this.#removeLater(id);
      return;
    }
    if (unfinished > 0) {
      if (!again) {
        this.#logger.warn(
          { shard: id, unfinished },
          'log shard still holds unfinished transactions: drained (weight 0) now, removed once they finish',
        );
      }
      this.log.declare(id, 0);
      this.#setSpec({ ...shard.spec, weight: 0 });
      this.#removeLater(id);
      return;
    }
    this.#removing.delete(id);
    this.log.remove(id);
    this.#open.delete(id);
    await shard.maintenance?.stop(true);
    await shard.store.close();
    this.#logger.info({ shard: id }, 'log shard removed');
    this.#hooks?.reachability();
  }

  /** Tries a removal again after a recovery interval, unless the shard was named again. */
  #removeLater(id: number): void {
    if (this.#removing.has(id)) {
      return;
    }
    this.#removing.add(id);
    void (async () => {
      await delay(this.#config.recoveryIntervalMs, undefined, { ref: false });
      if (!this.#stopped && this.#removing.has(id)) {
        this.#removing.delete(id); // #remove schedules the next try if it must
        await this.#remove(id, true).catch(() => undefined);
      }
    })();
  }

  /** Stuck and in-doubt transactions over every shard. */
  get backlog(): { stuck: number; inDoubt: number } {
    let stuck = 0;
    let inDoubt = 0;
    for (const s of this.#open.values()) {
      const b = s.maintenance?.backlog ?? { stuck: 0, inDoubt: 0 };
      stuck += b.stuck;
      inDoubt += b.inDoubt;
    }
    return { stuck, inDoubt };
  }

  /**
   * Each shard as configured now: its weight, whether it answers, its
   * unfinished transactions (last counted) and where it is (for logs and
   * metrics), by number.
   */
  status(): ShardStatus[] {
    const live = new Map(this.log.shards().map((s) => [s.id, s.up]));
    return this.specs
      .map((spec) => ({
        shard: spec.id,
        weight: spec.weight,
        up: live.get(spec.id) ?? false,
        unfinished: this.#open.get(spec.id)?.maintenance?.unfinished ?? 0,
        database: redactUrl(spec.url),
        schema: spec.schema,
      }))
      .sort((a, b) => a.shard - b.shard);
  }

  poolStats(): { pool: string; shard: number; total: number; idle: number; waiting: number }[] {
    return [...this.#open.values()].flatMap((s) =>
      s.store.poolStats().map((p) => ({ ...p, shard: s.spec.id })),
    );
  }

  admissionStats(): { pending: number; refused: number } {
    let pending = 0;
    let refused = 0;
    for (const s of this.#open.values()) {
      const a = s.store.admissionStats();
      pending += a.pending;
      refused += a.refused;
    }
    return { pending, refused };
  }

  /** Stops the background work (releasing this coordinator's leases with `release`). */
  async stopMaintenance(release: boolean): Promise<void> {
    this.#stopped = true;
    this.#opening.clear();
    await Promise.all([...this.#open.values()].map((s) => s.maintenance?.stop(release)));
  }

  async close(): Promise<void> {
    await this.stopMaintenance(false);
    await Promise.all([...this.#open.values()].map((s) => s.store.close()));
  }
}
