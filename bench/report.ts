// What the benchmark tells: progress and details on stderr, the table of
// figures with each one's ratio to the floor on stdout, the results as JSON
// and, with --chart, the sweep as SVG.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { sweepSvg } from './chart.ts';
import type { SweepPoint } from './chart.ts';
import type { EnlistMode } from './load.ts';
import type { WalRecords } from './log-probes.ts';
import type { Measure, Measured } from './measurer.ts';
import type { OpenTransactions } from './open-transactions.ts';
import { ROOT } from './proc.ts';
import type { Target } from './targets.ts';

/** What a run was, as its report names it. */
export interface RunDescription {
  /** The PostgreSQL measured on. */
  readonly server: string;
  readonly participants: number;
  readonly inflight: number;
  readonly enlist: EnlistMode;
  /** Business calls at each participant per transaction. */
  readonly calls: number;
  /** Finished transactions in each window's log before it started. */
  readonly logRows: number;
  readonly shards: number;
  readonly duration: number;
  readonly rounds: number;
  /** The targets compared with the floor, in the table's order. */
  readonly shown: Target[];
}

/** A window's details (a long run's steady state, --wal-profile), on stderr. */
export function printDetails(target: Target, measured: Measured): void {
  if (measured.steady !== null) {
    const { width, windows, sizes } = measured.steady;
    console.error(
      `  steady state, ${width} s windows: from (s), committed/s, p99 (ms), coordinator RSS (MiB)`,
    );
    for (const w of windows) {
      console.error(
        `    ${String(w.from).padStart(5)} ${w.tps.toFixed(0).padStart(7)} ${w.p99.toFixed(1).padStart(8)} ${w.rssMiB.toFixed(1).padStart(8)}`,
      );
    }
    for (const r of sizes) {
      console.error(`  ${r.relname}: table ${r.t}, indexes ${r.i}`);
    }
  }
  if (measured.walProfile !== null) {
    const { profile, committed } = measured.walProfile;
    printWalRecords(target, 'relation', profile.relation, committed);
    printWalRecords(target, 'record type', profile.recordType, committed);
  }
  if (measured.statements !== null) {
    const { times, committed: n } = measured.statements;
    console.error(
      `  ${target} log statements per txn: calls, planning ms, execution ms, statement`,
    );
    for (const t of times) {
      console.error(
        `    ${(t.calls / n).toFixed(2).padStart(6)}${(t.planMs / n).toFixed(3).padStart(8)}${(t.execMs / n).toFixed(3).padStart(8)}  ${t.text}`,
      );
    }
  }
}

/** --wal-profile: the WAL a window wrote, per transaction, by `title`. */
function printWalRecords(label: string, title: string, rows: WalRecords[], n: number): void {
  console.error(`  ${label} WAL per txn by ${title}:`);
  for (const r of rows.filter((x) => x.bytes / n >= 1)) {
    console.error(
      `    ${r.k.padEnd(44)}${(r.bytes / n).toFixed(0).padStart(7)} B${(r.records / n).toFixed(2).padStart(8)} records`,
    );
  }
}

/** One target of one round done, on stderr. */
export function printRound(round: number, m: Measure): void {
  console.error(
    `  round ${round} ${m.target}: ${m.tps.toFixed(0)} tx/s, p50 ${m.p50.toFixed(2)} ms, ${m.failed} failed`,
  );
}

/** One point of the --chart sweep done, on stderr. */
export function printSweepPoint(p: SweepPoint): void {
  console.error(
    `  sweep ${p.inflight}: floor ${p.floor.tps.toFixed(0)}, twopc ${p.twopc.tps.toFixed(0)}, batched ${p.batched.tps.toFixed(0)} tx/s`,
  );
}

/** --open: the coordinator's RSS per open transaction. */
export function printOpenTransactions(o: OpenTransactions): void {
  console.log(
    `${o.count} ACTIVE transactions open: coordinator RSS ${o.rssStartMiB.toFixed(1)} → ${o.rssEndMiB.toFixed(1)} MiB, ${(((o.rssEndMiB - o.rssStartMiB) * 1024 * 1024) / o.count).toFixed(0)} bytes per open transaction`,
  );
}

/** The rows of the table: label, figure, digits. */
function tableRows(duration: number): [string, keyof Measure, number][] {
  return [
    ['committed transactions/s', 'tps', 0],
    ['latency p50 (ms)', 'p50', 2],
    ['latency p90 (ms)', 'p90', 2],
    ['latency p99 (ms)', 'p99', 2],
    ['latency max (ms)', 'max', 1],
    ['coordinator CPU per txn (ms)', 'cpuMsPerTxn', 3],
    ['participants CPU per txn (ms)', 'participantCpuMsPerTxn', 3],
    ['calls per batched message', 'callsPerBatch', 1],
    ['PostgreSQL CPU per txn (ms)', 'pgCpuMsPerTxn', 3],
    ['coordinator RSS at start (MiB)', 'rssStartMiB', 1],
    ['coordinator RSS at end (MiB)', 'rssEndMiB', 1],
    ['log table bytes per txn', 'logBytesPerTxn', 0],
    ['WAL bytes per txn', 'walBytesPerTxn', 0],
    ['WAL fsyncs per txn', 'walSyncsPerTxn', 3],
    ...(duration >= 120
      ? ([
          ['p99 first minute (ms)', 'p99FirstMinute', 2],
          ['p99 last minute (ms)', 'p99LastMinute', 2],
          ['coordinator RSS after 1 min (MiB)', 'rssAfterMinuteMiB', 1],
        ] as [string, keyof Measure, number][])
      : []),
  ];
}

/**
 * The summary on stdout: each figure averaged over the rounds, with its
 * ratio to the floor's; with several rounds, each round's ratio and their
 * median; with shards, each shard's part; and the failed transactions.
 */
export function printSummary(run: RunDescription, results: Measure[]): void {
  const { shown } = run;
  const avg = (target: Target, key: keyof Measure): number => {
    const xs = results.filter((m) => m.target === target).map((m) => Number(m[key]));
    return xs.reduce((s, x) => s + x, 0) / xs.length;
  };
  console.log(
    `\ntwopc vs floor — ${run.participants} participants, ${run.inflight} in flight, participants ${run.enlist === 'begin' ? 'named in Begin' : 'enlisted by Enlist calls'}, ${run.calls === 0 ? 'no business calls' : `${run.calls} business call(s) at each`}, ${run.logRows === 0 ? 'a new log' : `a log holding ${run.logRows} finished`}, ${run.duration} s × ${run.rounds} round(s) each, ${cpus().length} cores, Node ${process.version}\non ${run.server} (floor and twopc alike)\n`,
  );
  console.log(
    `${'figure'.padEnd(32)}${'floor'.padStart(10)}${shown.map((t) => `${t.padStart(10)}${'÷floor'.padStart(8)}`).join('')}`,
  );
  for (const [label, key, digits] of tableRows(run.duration)) {
    const f = avg('floor', key);
    const cols = shown
      .map((t) => {
        const x = avg(t, key);
        return `${x.toFixed(digits).padStart(10)}${(f === 0 ? '–' : (x / f).toFixed(2)).padStart(8)}`;
      })
      .join('');
    console.log(`${label.padEnd(32)}${f.toFixed(digits).padStart(10)}${cols}`);
  }
  if (run.rounds > 1) {
    printRoundRatios(shown, results);
  }
  if (run.shards > 1) {
    printShards(run, results);
  }
  const failed = results.reduce((s, m) => s + m.failed, 0);
  console.log(
    `\nfailed transactions: ${failed}${failed > 0 ? ` (first: ${results.find((m) => m.firstError)?.firstError})` : ''}`,
  );
}

/** The spread: each round's ratio to the floor of the same round, and their median. */
function printRoundRatios(shown: Target[], results: Measure[]): void {
  const perRound = (t: Target, key: keyof Measure): number[] => {
    const fs = results.filter((m) => m.target === 'floor').map((m) => Number(m[key]));
    return results.filter((m) => m.target === t).map((m, i) => Number(m[key]) / (fs[i] ?? NaN));
  };
  for (const [label, key] of [
    ['transactions/s ÷ floor by round', 'tps'],
    ['p50 ÷ floor by round', 'p50'],
    ['p99 ÷ floor by round', 'p99'],
  ] as [string, keyof Measure][]) {
    const spread = shown.map(
      (t) =>
        `${t} ${perRound(t, key)
          .map((r) => r.toFixed(2))
          .join(', ')}`,
    );
    console.log(`${label}: ${spread.join('; ')}`);
  }
  // The headline: the median of the per-round ratios (each round against
  // the floor measured next to it, the order alternating), with its range,
  // so one noisy round neither makes nor breaks a target.
  for (const [label, key] of [
    ['transactions/s ÷ floor, median of rounds', 'tps'],
    ['p50 ÷ floor, median of rounds', 'p50'],
  ] as [string, keyof Measure][]) {
    const cols = shown.map((t) => {
      const xs = perRound(t, key);
      return `${t} ${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
    });
    console.log(`${label}: ${cols.join('; ')}`);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** Each shard's part of a transaction's cost (the sum is the table's row). */
function printShards(run: RunDescription, results: Measure[]): void {
  for (const t of run.shown) {
    const ms = results.filter((m) => m.target === t);
    const parts = Array.from({ length: run.shards }, (_, i) => {
      const pg = ms.reduce((sum, m) => sum + (m.perShard[i]?.pgCpuMs ?? 0), 0) / ms.length;
      const wal = ms.reduce((sum, m) => sum + (m.perShard[i]?.walBytes ?? 0), 0) / ms.length;
      return `shard ${i} ${pg.toFixed(3)} ms CPU, ${wal.toFixed(0)} B WAL`;
    });
    console.log(`${t} per shard, per transaction: ${parts.join('; ')}`);
  }
}

/**
 * Writes the results as JSON to `out` (default: bench/results/bench-<time>.json)
 * and the sweep, if any, as SVG next to it; prints where.
 */
export async function writeResults(
  out: string | undefined,
  run: RunDescription,
  results: Measure[],
  sweep: SweepPoint[],
): Promise<void> {
  const file =
    out ??
    join(ROOT, 'bench', 'results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await mkdir(join(file, '..'), { recursive: true });
  const { server, participants, inflight, shards, duration, rounds } = run;
  await writeFile(
    file,
    `${JSON.stringify({ server, participants, inflight, shards, duration, rounds, results, sweep }, null, 2)}\n`,
  );
  console.log(`results: ${file}`);
  if (sweep.length > 0) {
    const svg = file.replace(/\.json$/, '.svg');
    await writeFile(svg, sweepSvg(sweep, `${participants} participants`));
    console.log(`chart: ${svg}`);
  }
}
