import { metrics } from '@opentelemetry/api';
import { Coordinator } from '../../src/coordinator/coordinator.ts';
import { Maintenance } from '../../src/coordinator/maintenance.ts';
import { HealthMonitor } from '../../src/participant/health-monitor.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { TwopcMetrics } from '../../src/telemetry/metrics.ts';
import { WarnLimiter } from '../../src/telemetry/warn-limiter.ts';
import type { Clock } from 'twopc/internal/time/clock';
import { sleep } from 'twopc/internal/time/clock';
import type { SimConfig } from './sim-config.ts';
import type { SimLog, SimProcessRef } from './sim-log.ts';
import { SimNetwork } from './sim-participants.ts';
import type { ParticipantWitness, SimParticipant } from './sim-participants.ts';
import type { SimScheduler } from './sim-scheduler.ts';
import { SimStore } from './sim-store.ts';

/** What a process needs of its world. */
export interface SimProcessWorld {
  readonly sched: SimScheduler;
  readonly log: SimLog;
  readonly participants: readonly SimParticipant[];
  readonly witness: ParticipantWitness;
  readonly config: SimConfig;
}

/**
 * A coordinator process: the real Coordinator and Maintenance on the
 * simulated scheduler, log and network. It can die (its timers and answers
 * die with it), freeze (its timers and answers wait until it resumes:
 * a stop-the-world pause, a SIGSTOP), and lose its link to the log or to
 * one participant while the others still reach it.
 */
export class SimProcess implements SimProcessRef {
  alive = true;
  /** Frozen until then (simulated ms); 0: running. */
  frozenUntil = 0;
  /** What reached the process while it was frozen, handed over when it resumes. */
  #held: (() => void)[] = [];
  #freezes = 0;
  cutFromLog = false;
  readonly #cut = new Set<string>();
  readonly name: string;
  readonly clock: Clock;
  readonly coordinator: Coordinator;
  readonly maintenance: Maintenance;
  readonly #sched: SimScheduler;

  constructor(world: SimProcessWorld, name: string, offsetMs: number) {
    this.name = name;
    const sched = world.sched;
    this.#sched = sched;
    const config = world.config;
    this.clock = {
      now: () => sched.now() + offsetMs,
      setTimeout: (fn, ms) => sched.setTimeout(() => this.deliver(fn), ms),
    };
    const store = new SimStore(world.log, sched, this);
    const net = new SimNetwork(sched, this, world.participants, world.witness);
    const health = new HealthMonitor(net, this.clock, {
      intervalMs: config.healthIntervalMs,
      missLimit: config.healthMissLimit,
    });
    const log = silentLogger();
    this.coordinator = new Coordinator(
      {
        store,
        participants: net,
        health,
        clock: this.clock,
        log,
        metrics: new TwopcMetrics(metrics.getMeter('twopc-sim')),
        warnings: new WarnLimiter(this.clock),
        random: () => sched.random.float(),
        config: {
          prepareTimeoutMs: config.prepareTimeoutMs,
          callTimeoutMs: config.callTimeoutMs,
          retry: config.retry,
          onePhase: config.onePhase,
          earlyPrepare: config.earlyPrepare,
          abortAttempts: config.abortAttempts,
        },
      },
      { defaultMs: 3_000, maxMs: 60_000, stuckAfterMs: 30_000 },
    );
    this.maintenance = new Maintenance(
      store,
      this.coordinator,
      this.clock,
      log,
      {
        sweepIntervalMs: config.sweepIntervalMs,
        recoveryIntervalMs: config.recoveryIntervalMs,
        coordinatorLeaseMs: config.coordinatorLeaseMs,
        retentionMs: 1e12,
        retentionIntervalMs: 1e9,
        coordinatorName: name,
        stuckAfterMs: 30_000,
      },
      { storeReachable: () => undefined, recovered: () => undefined },
    );
  }

  /** Whether a client can reach it now (alive and not frozen). */
  get serving(): boolean {
    return this.alive && this.frozenUntil <= this.#sched.now();
  }

  deliver(fn: () => void): void {
    if (!this.alive) {
      return;
    }
    if (this.frozenUntil > this.#sched.now()) {
      this.#held.push(fn);
      return;
    }
    fn();
  }

  /** Stops the process for `ms` (SIGSTOP): its timers and answers wait until it resumes. */
  freeze(ms: number): void {
    const freeze = ++this.#freezes;
    this.frozenUntil = this.#sched.now() + ms;
    this.#sched.setTimeout(() => {
      if (this.#freezes === freeze) {
        this.#thaw();
      }
    }, ms);
  }

  #thaw(): void {
    this.frozenUntil = 0;
    this.#held.splice(0).forEach((fn) => this.deliver(fn));
  }

  cutFrom(participant: string): boolean {
    return this.#cut.has(participant);
  }

  /** Cuts (or heals) the link from this process to one participant. */
  cut(participant: string, on: boolean): void {
    if (on) {
      this.#cut.add(participant);
    } else {
      this.#cut.delete(participant);
    }
  }

  healLinks(): void {
    this.#cut.clear();
    this.cutFromLog = false;
    this.#freezes++;
    this.#thaw();
  }

  /** Starts its loops, retrying while the log does not answer (a process restarting). */
  async start(): Promise<void> {
    while (this.alive) {
      try {
        await this.maintenance.start();
        return;
      } catch {
        await sleep(this.clock, 300);
      }
    }
  }
}
