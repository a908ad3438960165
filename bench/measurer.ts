// One measured window of one target: a warm-up, then the load for a given
// time, with the CPU, memory, log size and WAL of every process involved
// sampled before and after.
import type pg from 'pg';
import { fillFloor, fillLog } from './log-fill.ts';
import { quantile, runLoad } from './load.ts';
import type { EnlistMode, LoadResult, LoadShape } from './load.ts';
import {
  logTableSizes,
  mergeWalProfiles,
  relationBytes,
  resetStatements,
  statementTimes,
  walLsn,
  walProfile,
  walSyncs,
} from './log-probes.ts';
import type { StatementTimes, TableSize, WalProfile } from './log-probes.ts';
import { cpuSeconds, migrateSchema, rssMiB, treeCpuSeconds } from './proc.ts';
import { startTarget } from './targets.ts';
import type { RunningTarget, Target, TargetSetup } from './targets.ts';

/** A target's figures over one measured window (per transaction: per committed transaction). */
export interface Measure {
  target: Target;
  inflight: number;
  committed: number;
  failed: number;
  tps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  cpuMsPerTxn: number;
  participantCpuMsPerTxn: number;
  /** Batched participant calls per stream message (0: none batched). */
  callsPerBatch: number;
  rssStartMiB: number;
  rssEndMiB: number;
  logBytesPerTxn: number;
  walBytesPerTxn: number;
  /** WAL fsyncs per transaction (every log of the target). */
  walSyncsPerTxn: number;
  pgCpuMsPerTxn: number;
  /** With --shards: each shard's PostgreSQL CPU (ms) and WAL (bytes) per transaction of the whole run. */
  perShard: { pgCpuMs: number; walBytes: number }[];
  /** p99 of the first and the last minute (runs of two minutes or more). */
  p99FirstMinute: number;
  p99LastMinute: number;
  /** RSS one minute in (runs of two minutes or more), and every 10 s. */
  rssAfterMinuteMiB: number;
  rssTimeline: [number, number][];
  firstError: string | null;
}

/** One window of a long run: its start (s), committed/s, p99 (ms) and the coordinator's RSS (MiB). */
export interface SteadyWindow {
  readonly from: number;
  readonly tps: number;
  readonly p99: number;
  readonly rssMiB: number;
}

/** A long run (two minutes or more), window by window, and the log's table sizes after it. */
export interface SteadyState {
  readonly width: number;
  readonly windows: SteadyWindow[];
  readonly sizes: TableSize[];
}

/** What one window measured: the figures, and the details asked for. */
export interface Measured {
  readonly measure: Measure;
  /** Runs of two minutes or more. */
  readonly steady: SteadyState | null;
  /** With --wal-profile: the window's WAL; `committed` divides it per transaction. */
  readonly walProfile: { profile: WalProfile; committed: number } | null;
  /** With --statement-profile: the window's statements on the first log; `committed` divides them. */
  readonly statements: { times: StatementTimes[]; committed: number } | null;
}

/** How every window of a run is measured. */
export interface MeasureSetup extends TargetSetup {
  readonly enlist: EnlistMode;
  /** Business calls at each participant per transaction (see LoadShape). */
  readonly calls: number;
  /** Finished transactions each window's log holds before it starts (0: a new log). */
  readonly logRows: number;
  readonly rate: number | null;
  readonly walProfile: boolean;
  readonly statementProfile: boolean;
}

/** Measures windows of a run, each target over a schema of its own. */
export class Measurer {
  readonly #setup: MeasureSetup;
  #windows = 0;

  constructor(setup: MeasureSetup) {
    this.#setup = setup;
  }

  /**
   * Starts `target`, loads it with `inflight` transactions at once for `warm`
   * seconds, then measures `seconds` of the same load, and stops it.
   */
  async measure(
    target: Target,
    inflight: number,
    seconds: number,
    warm: number,
  ): Promise<Measured> {
    const setup = this.#setup;
    const schema = `bench_${target}_${this.#windows++}`;
    const [log] = setup.logs;
    if (setup.logRows > 0 && target !== 'floor') {
      // Filled before the coordinator starts: it reads the log's size first.
      await migrateSchema(log.server.url, schema);
      await fillLog(log.db, schema, setup.logRows, 'folded');
    }
    const running = await startTarget(target, schema, setup);
    try {
      if (setup.logRows > 0 && target === 'floor') {
        await fillFloor(log.db, schema, setup.logRows);
      }
      const { address, participants, connection } = running;
      if (warm > 0) {
        await runLoad(address, participants.refs, inflight, warm, shapeOf(setup), connection);
      }
      // The benchmark's own queries go to the first log.
      const db = setup.logs[0].db;
      const s0 = await sample(running, schema);
      if (setup.statementProfile) {
        await resetStatements(db);
      }
      const { load, rssTimeline } = await sampledLoad(running, setup, inflight, seconds);
      const times = setup.statementProfile ? await statementTimes(db) : null;
      const s1 = await sample(running, schema);
      const n = Math.max(1, load.committed);
      const steady =
        seconds >= 120 ? await steadyState(db, schema, seconds, load.timeline, rssTimeline) : null;
      // Each log's WAL between its own positions (the sums span every shard).
      const wal = setup.walProfile
        ? {
            profile: mergeWalProfiles(
              await Promise.all(
                running.logs.map((l, i) =>
                  walProfile(l.db, s0.shards[i]?.wal ?? 0n, s1.shards[i]?.wal ?? 0n),
                ),
              ),
            ),
            committed: n,
          }
        : null;
      return {
        measure: figures(target, inflight, seconds, load, s0, s1, rssTimeline),
        steady,
        walProfile: wal,
        statements: times === null ? null : { times, committed: n },
      };
    } finally {
      await running.server.stop();
    }
  }
}

/**
 * The measured load; in long runs, the coordinator's RSS every 10 s besides,
 * to tell warm-up growth from a leak.
 */
async function sampledLoad(
  running: RunningTarget,
  setup: MeasureSetup,
  inflight: number,
  seconds: number,
): Promise<{ load: LoadResult; rssTimeline: [number, number][] }> {
  const rssTimeline: [number, number][] = [];
  const sampler =
    seconds >= 120
      ? setInterval(
          () => rssTimeline.push([rssTimeline.length * 10 + 10, rssMiB(running.pid)]),
          10_000,
        )
      : null;
  const load = await runLoad(
    running.address,
    running.participants.refs,
    inflight,
    seconds,
    shapeOf(setup),
    running.connection,
    setup.rate,
  ).finally(() => {
    if (sampler !== null) {
      clearInterval(sampler);
    }
  });
  return { load, rssTimeline };
}

/** Counters of a target's processes and logs at one moment. */
interface Sample {
  pg: number;
  cpu: number;
  participants: number;
  rss: number;
  bytes: number;
  wal: bigint;
  batching: { calls: number; batches: number };
  shards: { pg: number; wal: bigint; syncs: number }[];
  syncs: number;
}

async function sample(running: RunningTarget, schema: string): Promise<Sample> {
  const shards = await Promise.all(
    running.logs.map(async (l) => ({
      pg: treeCpuSeconds(l.postmaster),
      wal: await walLsn(l.db),
      syncs: await walSyncs(l.db),
      bytes: await relationBytes(l.db, schema),
    })),
  );
  return {
    batching: await batching(running.metricsUrl),
    pg: shards.reduce((sum, x) => sum + x.pg, 0),
    cpu: cpuSeconds(running.pid),
    participants: running.participants.pids.reduce((sum, p) => sum + cpuSeconds(p), 0),
    rss: rssMiB(running.pid),
    bytes: shards.reduce((sum, x) => sum + x.bytes, 0),
    wal: shards.reduce((sum, x) => sum + x.wal, 0n),
    syncs: shards.reduce((sum, x) => sum + x.syncs, 0),
    shards,
  };
}

/** Batched participant calls and the messages that carried them, so far (none without metrics). */
async function batching(metricsUrl: string | null): Promise<{ calls: number; batches: number }> {
  if (metricsUrl === null) {
    return { calls: 0, batches: 0 };
  }
  const text = await (await fetch(metricsUrl)).text();
  const read = (re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);
  return {
    calls: read(/^twopc_participant_calls_total\{transport="batched"[^}]*\} (\d+)/m),
    batches: read(/^twopc_participant_batches_total\{[^}]*\} (\d+)/m),
  };
}

/** The window's figures from its load and the samples before (s0) and after (s1). */
function figures(
  target: Target,
  inflight: number,
  seconds: number,
  load: LoadResult,
  s0: Sample,
  s1: Sample,
  rssTimeline: [number, number][],
): Measure {
  const n = Math.max(1, load.committed);
  const l = load.latenciesMs;
  const minute = (from: number, to: number): number[] => sortedBetween(load.timeline, from, to);
  return {
    target,
    inflight,
    committed: load.committed,
    failed: load.failed,
    tps: load.committed / load.seconds,
    p50: quantile(l, 0.5),
    p90: quantile(l, 0.9),
    p99: quantile(l, 0.99),
    max: l.at(-1) ?? NaN,
    cpuMsPerTxn: ((s1.cpu - s0.cpu) * 1000) / n,
    participantCpuMsPerTxn: ((s1.participants - s0.participants) * 1000) / n,
    callsPerBatch:
      (s1.batching.calls - s0.batching.calls) /
      Math.max(1, s1.batching.batches - s0.batching.batches),
    rssStartMiB: s0.rss,
    rssEndMiB: s1.rss,
    logBytesPerTxn: (s1.bytes - s0.bytes) / n,
    walBytesPerTxn: Number(s1.wal - s0.wal) / n,
    walSyncsPerTxn: (s1.syncs - s0.syncs) / n,
    firstError: load.firstError,
    pgCpuMsPerTxn: ((s1.pg - s0.pg) * 1000) / n,
    perShard: s1.shards.map((x, i) => ({
      pgCpuMs: ((x.pg - (s0.shards[i]?.pg ?? 0)) * 1000) / n,
      walBytes: Number(x.wal - (s0.shards[i]?.wal ?? 0n)) / n,
    })),
    p99FirstMinute: seconds >= 120 ? quantile(minute(0, 60), 0.99) : NaN,
    p99LastMinute: seconds >= 120 ? quantile(minute(seconds - 60, Infinity), 0.99) : NaN,
    rssAfterMinuteMiB: rssTimeline.find(([t]) => t >= 60)?.[1] ?? NaN,
    rssTimeline,
  };
}

/**
 * A long run, window by window (5 minutes from 15 minutes on, else 1):
 * throughput, p99 and the coordinator's RSS, to tell a steady state from a
 * drift; then the log's table and index sizes.
 */
async function steadyState(
  db: pg.Pool,
  schema: string,
  seconds: number,
  timeline: [number, number][],
  rss: [number, number][],
): Promise<SteadyState> {
  const width = seconds >= 900 ? 300 : 60;
  const windows: SteadyWindow[] = [];
  for (let from = 0; from + width <= seconds + 1; from += width) {
    const ms = sortedBetween(timeline, from, from + width);
    windows.push({
      from,
      tps: ms.length / width,
      p99: quantile(ms, 0.99),
      rssMiB: rss.filter(([t]) => t <= from + width).at(-1)?.[1] ?? NaN,
    });
  }
  return { width, windows, sizes: await logTableSizes(db, schema) };
}

/** The latencies of the transactions that finished from `from` to `to` seconds, sorted. */
function sortedBetween(timeline: [number, number][], from: number, to: number): number[] {
  return timeline
    .filter(([t]) => t >= from && t < to)
    .map(([, ms]) => ms)
    .sort((a, b) => a - b);
}

function shapeOf(setup: MeasureSetup): LoadShape {
  return { enlist: setup.enlist, calls: setup.calls };
}
