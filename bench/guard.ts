// Run by tsx (npm run bench:guard), not compiled with the benchmark: it shares the tests' bank and process helpers.
// npm run bench:guard [-- --duration 20 --warmup 5 --rounds 3 --workers 12 --server system|embedded --jit off --statements]
//
// The throughput guard: this checkout against the recorded previous release
// (release/previous.json, checked out as a git worktree), in the same run,
// on the same PostgreSQL, alternating. The workload is the one a bank
// runs: two-leg transfers between two participant services (PgParticipant,
// unary calls only, each its own database), random accounts so transfers
// contend for rows, 12 client workers, the coordinator with its production
// settings (nothing tuned). It prints committed transfers/s and latencies of
// each, and the ratio of this checkout to the previous release; a drop of
// more than a fifth in throughput (or a rise of more than a quarter in the
// median latency) is a regression: the exit status is then 1.
import { parseArgs } from 'node:util';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { createBanks } from '../test/support/bank.ts';
import type { BankProcess } from '../test/support/bank.ts';
import { TwopcProcess } from '../test/support/child.ts';
import { OwnPostgres } from '../test/support/own-postgres.ts';
import { checkOutPrevious } from '../test/support/rolling-upgrade.ts';
import { TransferLoad } from '../test/support/transfer-load.ts';
import { parseBenchServer } from './bench-log.ts';
import { freePort } from './ports.ts';
import { ROOT } from './proc.ts';

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string', default: '12' },
    server: { type: 'string' },
    jit: { type: 'string', default: 'on' },
    statements: { type: 'boolean', default: false },
  },
});
const duration = Number(opts.duration);
const warmup = Number(opts.warmup);
const rounds = Number(opts.rounds);
const workers = Number(opts.workers);
if (!(duration >= 1 && warmup >= 0 && rounds >= 1 && workers >= 1)) {
  console.error('--duration ≥ 1, --warmup ≥ 0, --rounds ≥ 1 and --workers ≥ 1');
  process.exit(2);
}
const build = parseBenchServer(opts.server);

interface Measure {
  readonly version: string;
  readonly tps: number;
  readonly p50: number;
  readonly p90: number;
  readonly failed: number;
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const median = (xs: number[]): number => quantile(xs, 0.5);

// --jit off: the same servers without JIT, to tell JIT's share of a regression.
// pg_stat_statements: which statements, if any, PostgreSQL JIT-compiled.
const settings = {
  shared_preload_libraries: "'pg_stat_statements'",
  ...(opts.jit === 'off' ? { jit: 'off' } : {}),
};
const log = await OwnPostgres.create(settings, {}, build);
const participants = await OwnPostgres.create(settings, {}, build);
// The banks' databases live on their own server (createBanks reads DATABASE_URL).
process.env.DATABASE_URL = participants.url();
const banks: BankProcess[] = await createBanks('guard_bank', 2);
const previous = checkOutPrevious();
for (const pgServer of [log, participants]) {
  await pgServer.sql('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
}
const [server] = await log.sql<{ v: string; jit: string }>(
  `SELECT current_setting('server_version') AS v, current_setting('jit') AS jit`,
);
const results: Measure[] = [];

/**
 * The log's busiest statements of the window (--statements): calls, mean and
 * total execution time, so that two versions can be compared statement by
 * statement.
 */
async function busiest(pgServer: OwnPostgres): Promise<string[]> {
  const rows = await pgServer.sql<{ query: string; calls: string; mean: number; total: number }>(
    `SELECT query, calls::text, mean_exec_time::float8 AS mean, total_exec_time::float8 AS total
     FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 6`,
  );
  return rows.map(
    (r) =>
      `    log: ${r.calls} calls, mean ${r.mean.toFixed(2)} ms, total ${r.total.toFixed(0)} ms: ${r.query.replace(/\s+/g, ' ').slice(0, 90)}`,
  );
}

/** Statements JIT-compiled on a server since the last call (and the counts reset). */
async function jitCompiled(pgServer: OwnPostgres, what: string): Promise<string[]> {
  const rows = await pgServer.sql<{ query: string; calls: string; ms: number }>(
    `SELECT query, calls::text,
            (jit_generation_time + jit_inlining_time + jit_optimization_time + jit_emission_time)::float8 AS ms
     FROM pg_stat_statements WHERE jit_functions > 0 ORDER BY 3 DESC LIMIT 5`,
  );
  await pgServer.sql('SELECT pg_stat_statements_reset()');
  return rows.map(
    (r) =>
      `    JIT on the ${what}: ${r.calls} calls, ${r.ms.toFixed(0)} ms compiling: ${r.query.replace(/\s+/g, ' ').slice(0, 100)}`,
  );
}

/** One measured window of one version. */
async function measure(version: string, root: string, round: number): Promise<Measure> {
  const listen = `127.0.0.1:${await freePort()}`;
  const coordinator = new TwopcProcess(
    ['serve'],
    {
      DATABASE_URL: log.url(),
      TWOPC_DB_SCHEMA: `guard_${version.replace(/\W/g, '_')}_${round}`,
      TWOPC_LISTEN: listen,
      TWOPC_METRICS_LISTEN: `127.0.0.1:${await freePort()}`,
    },
    root,
  );
  try {
    await coordinator.serving(60_000);
    for (const bank of banks) {
      await bank.start(listen, false, root);
    }
    await log.sql('SELECT pg_stat_statements_reset()');
    await participants.sql('SELECT pg_stat_statements_reset()');
    const client = new TwopcClient(listen, { attempts: 3, callTimeoutMs: 10_000 });
    const load = new TransferLoad(client, banks, workers, { commitTimeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, warmup * 1000));
    const from = Date.now();
    await new Promise((r) => setTimeout(r, duration * 1000));
    const to = Date.now();
    await load.stop();
    client.close();
    for (const line of [
      ...(opts.statements === true ? await busiest(log) : []),
      ...(await jitCompiled(log, 'log')),
      ...(await jitCompiled(participants, "participants' databases")),
    ]) {
      console.log(line);
    }
    const window = load.log.filter((t) => t.answeredAt >= from && t.answeredAt < to);
    const committed = window.filter((t) => t.told === 'COMMITTED');
    const latencies = committed.map((t) => t.answeredAt - t.begunAt);
    return {
      version,
      tps: committed.length / ((to - from) / 1000),
      p50: median(latencies),
      p90: quantile(latencies, 0.9),
      failed: window.filter((t) => t.told === 'UNKNOWN').length,
    };
  } finally {
    for (const bank of banks) {
      await bank.kill();
    }
    coordinator.child.kill('SIGTERM');
    await coordinator.exited;
  }
}

let status = 0;
try {
  const versions: [string, string][] = [
    [previous.version, previous.dir],
    ['this checkout', ROOT],
  ];
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? versions : [...versions].reverse();
    for (const [version, root] of order) {
      const m = await measure(version, root, round);
      results.push(m);
      console.log(
        `  round ${round} ${version}: ${m.tps.toFixed(1)} transfers/s, p50 ${m.p50.toFixed(0)} ms, p90 ${m.p90.toFixed(0)} ms, ${m.failed} unanswered`,
      );
    }
  }
  const of = (v: string, key: 'tps' | 'p50' | 'p90'): number =>
    median(results.filter((m) => m.version === v).map((m) => m[key]));
  const [prev, cur] = [previous.version, 'this checkout'];
  /**
   * Each round's ratio (this checkout ÷ the previous release, measured back
   * to back), and their median: what the machine did meanwhile cancels out
   * within a round.
   */
  const ratios = (key: 'tps' | 'p50' | 'p90'): number[] =>
    Array.from({ length: rounds }, (_, i) => {
      const [a, b] = [prev, cur].map((v) => results.filter((m) => m.version === v)[i]?.[key]);
      return (b ?? NaN) / (a ?? NaN);
    });
  console.log(
    `\nthroughput guard — bank transfers, 2 PgParticipant services (unary), ${workers} workers, ${duration} s × ${rounds} rounds, production settings\non system=${build} PostgreSQL ${server?.v ?? '?'}, jit ${server?.jit ?? '?'} (both versions alike)\n`,
  );
  console.log(
    `${'figure (median of rounds)'.padEnd(28)}${prev.padStart(14)}${cur.padStart(16)}${'ratio'.padStart(8)}   ratio by round`,
  );
  for (const [label, key] of [
    ['committed transfers/s', 'tps'],
    ['latency p50 (ms)', 'p50'],
    ['latency p90 (ms)', 'p90'],
  ] as const) {
    const p = of(prev, key);
    const c = of(cur, key);
    const byRound = ratios(key);
    console.log(
      `${label.padEnd(28)}${p.toFixed(1).padStart(14)}${c.toFixed(1).padStart(16)}${median(byRound).toFixed(2).padStart(8)}   ${byRound.map((r) => r.toFixed(2)).join(', ')}`,
    );
  }
  const tpsRatio = median(ratios('tps'));
  const p50Ratio = median(ratios('p50'));
  if (tpsRatio < 0.8 || p50Ratio > 1.25) {
    console.log(
      `\nREGRESSION: this checkout commits ${tpsRatio.toFixed(2)}× the transfers/s of ${prev} at ${p50Ratio.toFixed(2)}× its median latency (limits: 0.80× and 1.25×)`,
    );
    status = 1;
  } else {
    console.log(
      `\nno regression against ${prev} (limits: 0.80× the transfers/s, 1.25× the median latency)`,
    );
  }
} finally {
  for (const bank of banks) {
    await bank.close();
  }
  previous.remove();
  await log.destroy();
  await participants.destroy();
}
process.exit(status);
