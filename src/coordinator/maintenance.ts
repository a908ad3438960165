import { coerceError } from 'twopc/internal/contract/errors';
import { failpoint } from '../fault/failpoints.ts';
import type { TransactionStore } from '../store/transaction-store.ts';
import type { Logger } from '../telemetry/logger.ts';
import { WarnLimiter } from '../telemetry/warn-limiter.ts';
import type { Cancel, Clock } from 'twopc/internal/time/clock';
import type { Coordinator } from './coordinator.ts';

/** Intervals of the background work. */
export interface MaintenanceConfig {
  /** How often expired leases are looked for. */
  readonly sweepIntervalMs: number;
  /** How often orphaned transactions (dead owner) are looked for. */
  readonly recoveryIntervalMs: number;
  /** How long this incarnation counts as alive without renewing. */
  readonly coordinatorLeaseMs: number;
  /** How long finished transactions are kept. */
  readonly retentionMs: number;
  /** How often finished transactions past retention are deleted. */
  readonly retentionIntervalMs: number;
  /** The name this coordinator runs under; a restart under the same name takes over at once. */
  readonly coordinatorName: string;
  /** Phase 2 unfinished this long after the decision counts as stuck. */
  readonly stuckAfterMs: number;
}

/** What the loops report to the rest of the process. */
export interface MaintenanceHooks {
  /** The store answered (true) or failed (false) the last lease sweep. */
  storeReachable(ok: boolean): void;
  recovered(taken: number): void;
}

const BATCH = 100;
const DELETE_BATCH = 500;

/**
 * The coordinator's background loops: its own liveness lease, the lease
 * sweeper, the recovery scan and retention. Each loop is one timer on the
 * injected clock, rescheduled after its work, so a slow store never piles
 * work up.
 */
export class Maintenance {
  readonly #store: TransactionStore;
  readonly #coordinator: Coordinator;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #config: MaintenanceConfig;
  readonly #timers = new Set<Cancel>();
  #stopped = false;
  readonly #warnings: WarnLimiter;
  #backlog = { stuck: 0, inDoubt: 0 };
  #unfinished = 0;
  readonly #hooks: MaintenanceHooks;
  #storeOk = true;
  #incarnation: string | null = null;

  constructor(
    store: TransactionStore,
    coordinator: Coordinator,
    clock: Clock,
    log: Logger,
    config: MaintenanceConfig,
    hooks: MaintenanceHooks,
  ) {
    this.#hooks = hooks;
    this.#warnings = new WarnLimiter(clock);
    this.#store = store;
    this.#coordinator = coordinator;
    this.#clock = clock;
    this.#log = log;
    this.#config = config;
  }

  /**
   * Registers this incarnation (declaring earlier ones of the same name
   * dead) and starts every loop; the first recovery scan starts at once but
   * is not awaited, so serving new transactions never waits for it.
   */
  async start(): Promise<void> {
    const { coordinatorName, coordinatorLeaseMs } = this.#config;
    await this.#store.registerCoordinator(
      this.#coordinator.id,
      coordinatorName,
      coordinatorLeaseMs,
    );
    await this.#refreshLayout();
    this.#loop('liveness', coordinatorLeaseMs / 3, () => this.#renew());
    this.#loop('lease sweep', this.#config.sweepIntervalMs, () => this.#sweepAndReport());
    this.#loop('backlog', this.#config.recoveryIntervalMs, async () => {
      this.#backlog = await this.#store.backlog(this.#config.stuckAfterMs);
      this.#unfinished = await this.#store.openCount(null);
    });
    this.#loop('recovery', this.#config.recoveryIntervalMs, () => this.recover(), true);
    this.#loop('retention', this.#config.retentionIntervalMs, () => this.deleteExpired());
  }

  #loop(name: string, everyMs: number, work: () => Promise<unknown>, now = false): void {
    const tick = async (): Promise<void> => {
      try {
        await work();
      } catch (err) {
        this.#warn(`${name} failed`, err);
      }
      if (!this.#stopped) {
        this.#schedule(tick, everyMs);
      }
    };
    this.#schedule(tick, now ? 0 : everyMs);
  }

  #schedule(tick: () => Promise<void>, ms: number): void {
    const cancel = this.#clock.setTimeout(() => {
      this.#timers.delete(cancel);
      void tick();
    }, ms);
    this.#timers.add(cancel);
  }

  /** Warnings from loops are rate limited: an outage logs once every 10 s, not every tick. */
  #warn(message: string, err: unknown): void {
    const suppressed = this.#warnings.allow('maintenance');
    if (suppressed !== null) {
      this.#log.warn({ err: coerceError(err).message, similar_suppressed: suppressed }, message);
    }
  }

  async #renew(): Promise<void> {
    const { coordinatorName, coordinatorLeaseMs } = this.#config;
    if (!(await this.#store.renewCoordinator(this.#coordinator.id, coordinatorLeaseMs))) {
      this.#log.error(
        { coordinator: coordinatorName },
        'this coordinator was declared dead (lease lapsed or a second process uses the same name); registering again',
      );
      await this.#store.registerCoordinator(
        this.#coordinator.id,
        coordinatorName,
        coordinatorLeaseMs,
      );
    }
    await this.#refreshLayout();
  }

  /** Follows the releases sharing the log: the layout Begin creates (one line when it changes). */
  async #refreshLayout(): Promise<void> {
    const changed = await this.#store.refreshCreatedLayout?.();
    if (changed != null) {
      this.#log.info(
        { layout: changed.layout, live_versions: changed.versions.map((v) => v ?? '0.1.0') },
        changed.layout === 'rows'
          ? 'creating transactions in the rows layout: a live coordinator runs a release that reads only it'
          : `creating transactions in the ${changed.layout} layout: every live coordinator reads it`,
      );
    }
  }

  /** The last counts of stuck and in-doubt transactions. */
  get backlog(): { stuck: number; inDoubt: number } {
    return this.#backlog;
  }

  /** The log's unfinished transactions, every coordinator's, as last counted. */
  get unfinished(): number {
    return this.#unfinished;
  }

  async #sweepAndReport(): Promise<void> {
    try {
      await this.sweepLeases();
    } catch (err) {
      this.#storeOk = false;
      this.#hooks.storeReachable(false);
      throw err;
    }
    this.#hooks.storeReachable(true);
    if (!this.#storeOk) {
      // Back from an outage: what the log says is owed may differ from what
      // this process believes (writes lost in a crash), so re-read it now.
      this.#storeOk = true;
      this.#log.info('the log store answers again; re-reading unfinished work');
      await this.recover();
    }
  }

  /** Aborts ACTIVE transactions whose lease ran out (database clock). */
  async sweepLeases(): Promise<number> {
    let total = 0;
    for (;;) {
      const expired = await this.#store.expireLeases(this.#coordinator.id, BATCH);
      expired.forEach((tx) => this.#coordinator.adopt(tx));
      if (expired.length > 0) {
        // One line per sweep at most every 10 s: a burst of abandoned Begins
        // must not flood the log (the metrics count every one).
        const suppressed = this.#warnings.allow('lease-expiry');
        if (suppressed !== null) {
          this.#log.info(
            {
              expired: expired.length,
              txn_ids: expired.slice(0, 5).map((tx) => tx.txnId),
              similar_suppressed: suppressed,
            },
            'leases expired; aborting',
          );
        }
      }
      total += expired.length;
      if (expired.length < BATCH || this.#stopped) {
        return total;
      }
    }
  }

  /**
   * Takes over unfinished transactions of dead coordinators, and re-drives
   * this coordinator's own that no run here is driving (the log, not memory,
   * is the truth: a completion lost in a store crash leaves one behind).
   */
  async recover(): Promise<number> {
    await this.#checkIncarnation();
    const own = await this.#store.ownStale(
      this.#coordinator.id,
      this.#config.recoveryIntervalMs,
      BATCH,
    );
    for (const tx of own) {
      if (this.#coordinator.adopt(tx)) {
        this.#log.info(
          { txn_id: tx.txnId, state: tx.state },
          're-driving unfinished work of this coordinator',
        );
      }
    }
    let total = 0;
    for (;;) {
      const orphans = await this.#store.claimOrphans(this.#coordinator.id, BATCH);
      for (const tx of orphans) {
        await failpoint('in_recovery_loop');
        this.#log.info(
          { txn_id: tx.txnId, state: tx.state },
          'recovering a transaction of a dead coordinator',
        );
        this.#coordinator.adopt(tx);
      }
      total += orphans.length;
      if (orphans.length < BATCH || this.#stopped) {
        this.#hooks.recovered(total);
        return total;
      }
    }
  }

  /** Notices (and says) when the log's PostgreSQL restarted or was promoted. */
  async #checkIncarnation(): Promise<void> {
    const token = await this.#store.incarnation();
    if (this.#incarnation !== null && token !== this.#incarnation) {
      this.#log.warn(
        'the log store restarted after a crash or was promoted: transactions begun before it can only abort (LOG_STORE_RESTARTED)',
      );
    }
    this.#incarnation = token;
  }

  /** Deletes finished transactions past retention, in small batches. */
  async deleteExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.#store.deleteFinished(this.#config.retentionMs, DELETE_BATCH);
      total += deleted;
      if (deleted < DELETE_BATCH || this.#stopped) {
        return total;
      }
    }
  }

  /** Stops the loops; with `release`, hands this incarnation's work over at once. */
  async stop(release: boolean): Promise<void> {
    this.#stopped = true;
    this.#timers.forEach((cancel) => cancel());
    this.#timers.clear();
    if (release) {
      await this.#store.deregisterCoordinator(this.#coordinator.id).catch(() => undefined);
    }
  }
}
