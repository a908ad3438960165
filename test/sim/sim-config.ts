import type { SimRandom } from './sim-random.ts';

/** Rates and counts of the faults of one seed (each class on or off). */
export interface SimFaults {
  /** Per log round trip: refused before it runs; run but its answer lost. */
  readonly logRefuse: number;
  readonly logLoseAnswer: number;
  /** Per forced write: it commits and is visible, but its flush is cut short (not durable). */
  readonly notDurable: number;
  /** Per participant call: the request or its answer is lost; the call is slow. */
  readonly callLoss: number;
  readonly callSlow: number;
  /** How many of each scheduled fault happen before the world heals. */
  readonly logCrashes: number;
  readonly logOutages: number;
  readonly kills: number;
  readonly freezes: number;
  readonly logCuts: number;
  readonly participantCuts: number;
  readonly participantDowns: number;
  readonly participantCrashes: number;
  readonly grays: number;
  /** Per log round trip: it takes 0.5–5 s (a lock wait, an I/O stall, a checkpoint). */
  readonly logSlow: number;
}

/**
 * Everything a seed draws before its world starts (swarm testing: each
 * seed a different configuration, topology and fault mix, so that no
 * single setting hides a bug from every seed).
 */
export interface SimConfig {
  readonly coordinators: number;
  readonly participants: readonly string[];
  readonly transactions: number;
  readonly onePhase: boolean;
  readonly earlyPrepare: boolean;
  readonly abortAttempts: number;
  readonly prepareTimeoutMs: number;
  readonly callTimeoutMs: number;
  readonly retry: { readonly baseMs: number; readonly capMs: number };
  readonly healthIntervalMs: number;
  readonly healthMissLimit: number;
  readonly coordinatorLeaseMs: number;
  readonly recoveryIntervalMs: number;
  readonly sweepIntervalMs: number;
  /** How often the log flushes unforced writes (PostgreSQL's wal_writer_delay, 200 ms by default, up to 10 s). */
  readonly walWriterMs: number;
  /** How often a client races an Abort against its Commit, and repeats its Commit. */
  readonly raceChance: number;
  /** Clients work up to this long before each Enlist (0: they enlist at once). */
  readonly enlistDelayMs: number;
  /** Offset of each coordinator's clock from the log's (ms). */
  readonly clockOffsetsMs: readonly number[];
  /** A fifth of the seeds run their faults at 10–40 %. */
  readonly high: boolean;
  readonly faults: SimFaults;
}

const NAMES = ['bank-a', 'bank-b', 'stock', 'mail', 'ship', 'tax'];

/** Draws a seed's configuration, topology and faults (new settings go at the end). */
export function drawConfig(rnd: SimRandom): SimConfig {
  const high = rnd.chance(0.2);
  const on = (p = 0.7): boolean => rnd.chance(p);
  const rate = (): number => (!on() ? 0 : high ? 0.1 + rnd.float() * 0.3 : rnd.float() * 0.03);
  const count = (max: number): number => (on() ? rnd.int(1, high ? max * 2 : max) : 0);
  const coordinators = rnd.pick([1, 2, 2, 2, 3, 4]);
  const drawn = {
    coordinators,
    participants: NAMES.slice(0, rnd.pick([1, 2, 3, 4, 4, 4, 5, 6])),
    transactions: rnd.int(4, 12),
    onePhase: on(0.8),
    earlyPrepare: on(0.8),
    abortAttempts: rnd.int(2, 12),
    prepareTimeoutMs: rnd.int(500, 4_000),
    callTimeoutMs: rnd.int(150, 1_000),
    retry: { baseMs: rnd.int(5, 50), capMs: rnd.int(200, 2_000) },
    healthIntervalMs: rnd.int(100, 400),
    healthMissLimit: rnd.int(2, 4),
    coordinatorLeaseMs: rnd.int(800, 4_000),
    recoveryIntervalMs: rnd.int(150, 1_000),
    sweepIntervalMs: rnd.int(50, 300),
    clockOffsetsMs: Array.from({ length: coordinators }, () =>
      on(0.3) ? rnd.int(-5_000, 5_000) : 0,
    ),
    high,
    faults: {
      logRefuse: rate(),
      logLoseAnswer: rate(),
      notDurable: rate(),
      callLoss: rate(),
      callSlow: high ? rate() / 4 : rate(),
      logCrashes: count(2),
      logOutages: count(1),
      kills: count(2),
      freezes: count(1),
      logCuts: count(1),
      participantCuts: count(2),
      participantDowns: count(3),
      participantCrashes: count(2),
      grays: count(2),
    },
    walWriterMs: rnd.pick([200, 200, 1_000, 5_000]),
    enlistDelayMs: rnd.pick([0, 0, 500, 2_000]),
    raceChance: rnd.pick([0.1, 0.1, 0.1, 0.5]),
  };
  const logSlow = on() ? rnd.float() * (high ? 0.05 : 0.01) : 0;
  return { ...drawn, faults: { ...drawn.faults, logSlow } };
}
