// npm run bench [-- --server system|embedded --shards N --participants 2 --inflight 64 --duration 20 --warmup 5 --rounds 4 --enlist begin|calls --calls N --log-rows N --secure --chart --quick --wal-profile --statement-profile --rate N --retention-hours H]
//
// Runs the floor (bench/floor.ts) and twopc back to back, alternating, on the
// same PostgreSQL, and prints each figure with its ratio to the floor. What
// is measured: bench/targets.ts; how: bench/measurer.ts; what is told:
// bench/report.ts.
import { join } from 'node:path';
import { startBenchLog } from './bench-log.ts';
import type { BenchLog } from './bench-log.ts';
import type { SweepPoint } from './chart.ts';
import { enableWalInspection } from './log-probes.ts';
import { Measurer } from './measurer.ts';
import type { Measure } from './measurer.ts';
import { measureOpenTransactions } from './open-transactions.ts';
import { parseBenchOptions } from './options.ts';
import type { BenchOptions } from './options.ts';
import type { Child } from './proc.ts';
import {
  printDetails,
  printOpenTransactions,
  printRound,
  printSummary,
  printSweepPoint,
  writeResults,
} from './report.ts';
import { roundTargets, startParticipantSets } from './targets.ts';
import type { Target } from './targets.ts';

const opts = parseBenchOptions();

const first = await startBenchLog('twopc-bench-', opts.build, opts.statementProfile);
const logs: [BenchLog, ...BenchLog[]] = [first];
for (let i = 1; i < opts.shards; i++) {
  logs.push(await startBenchLog(`twopc-bench-shard${i}-`, opts.build));
}
const children: Child[] = [];
const pki = join(first.dir, 'pki');
try {
  const participants = await startParticipantSets(opts.participants, opts.secure, pki, children);
  if (opts.walProfile) {
    for (const log of logs) {
      await enableWalInspection(log.db);
    }
  }
  const measurer = new Measurer({
    logs,
    participants,
    pki,
    retentionHours: opts.retentionHours,
    enlist: opts.enlist,
    calls: opts.calls,
    logRows: opts.logRows,
    rate: opts.rate,
    walProfile: opts.walProfile,
    statementProfile: opts.statementProfile,
  });
  /** One window of `target`, its details printed. */
  const measure = async (
    target: Target,
    inflight: number,
    seconds: number,
    warm: number,
  ): Promise<Measure> => {
    const measured = await measurer.measure(target, inflight, seconds, warm);
    printDetails(target, measured);
    return measured.measure;
  };

  if (opts.open !== undefined) {
    printOpenTransactions(
      await measureOpenTransactions(first.server.url, opts.open, participants.unary.refs),
    );
  } else {
    const results: Measure[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      const all = measuredTargets(opts);
      const order = r % 2 === 0 ? all : [...all].reverse();
      for (const target of order) {
        const m = await measure(target, opts.inflight, opts.duration, opts.warmup);
        results.push(m);
        printRound(r + 1, m);
      }
    }
    const run = {
      server: first.description,
      participants: opts.participants,
      inflight: opts.inflight,
      enlist: opts.enlist,
      calls: opts.calls,
      logRows: opts.logRows,
      shards: opts.shards,
      duration: opts.duration,
      rounds: opts.rounds,
      shown: measuredTargets(opts).filter((t) => t !== 'floor'),
    };
    printSummary(run, results);

    const sweep: SweepPoint[] = [];
    if (opts.chart) {
      const seconds = Math.max(3, opts.duration / 2);
      for (const inflight of [1, 8, 32, 64, 128, 256]) {
        const f = await measure('floor', inflight, seconds, 1);
        const t = await measure('twopc', inflight, seconds, 1);
        const b = await measure('batched', inflight, seconds, 1);
        const point = {
          inflight,
          floor: { tps: f.tps, p99: f.p99 },
          twopc: { tps: t.tps, p99: t.p99 },
          batched: { tps: b.tps, p99: b.p99 },
        };
        sweep.push(point);
        printSweepPoint(point);
      }
    }
    await writeResults(opts.out, run, results, sweep);
    process.exitCode = results.some((m) => m.failed > 0) ? 1 : 0;
  }
} finally {
  await Promise.all(children.map((c) => c.stop()));
  await first.stop();
  await Promise.all(logs.slice(1).map((l) => l.stop()));
}

/** The targets of each round: all of them, or the floor and --only's (every ratio needs the floor). */
function measuredTargets(opts: BenchOptions): Target[] {
  return roundTargets(opts.secure).filter(
    (t) => opts.only === undefined || t === 'floor' || t === opts.only,
  );
}
