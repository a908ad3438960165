// npm run bench:list [-- --rows 1000000 --small 1000 --repeat 15]
//
// Cost as the log grows: ListTransactions (one page, through the real
// coordinator and the operator client) over a log holding `--small`
// finished transactions and over one holding `--rows`, each filter timed in
// both, side by side. The rows are what a busy log holds: two participants
// each, four tenants, one in fifty aborted, a label on one in ten, a
// heuristic outcome on one in 100,000, and a few transactions stuck in
// phase 2.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { TwopcOperator } from 'twopc/internal/twopc-operator';
import type { ListOptions } from 'twopc/internal/twopc-client';
import { parseBenchServer, startBenchLog } from './bench-log.ts';
import { fillLog } from './log-fill.ts';
import { startCoordinator } from './proc.ts';
import type { Child } from './proc.ts';

const { values: opts } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    small: { type: 'string', default: '1000' },
    repeat: { type: 'string', default: '15' },
    server: { type: 'string' },
  },
});
const sizes = [Number(opts.small), Number(opts.rows)];
const repeat = Number(opts.repeat);
if (!sizes.every((n) => Number.isInteger(n) && n >= 100) || !(repeat >= 1)) {
  console.error('--rows and --small must be whole numbers ≥ 100, --repeat ≥ 1');
  process.exit(2);
}

type Query = ListOptions & { tenant?: string; participant?: string };
const QUERIES: [string, Query][] = [
  ['newest first, every tenant', {}],
  ['one tenant', { tenant: 'globex' }],
  ['state ABORTED', { states: ['ABORTED'] }],
  ['a label', { labels: { batch: 'nightly' } }],
  ['participant enlisted', { participant: 'payments' }],
  ['stuck only', { stuckOnly: true }],
  ['heuristic outcomes only', { heuristicOnly: true }],
  ['older than an hour', { minAgeSeconds: 3600 }],
];

const {
  server,
  db,
  stop: stopLog,
} = await startBenchLog('twopc-bench-list-', parseBenchServer(opts.server));
const children: Child[] = [];
try {
  /** Per filter: the median per log size (undefined: no such page there). */
  const timings = new Map<string, (number | undefined)[]>();
  const record = (label: string, size: number, ms: number): void => {
    const row = timings.get(label) ?? [];
    row[size] = ms;
    timings.set(label, row);
  };
  /** The median time of `repeat` calls, after one to warm up. */
  const median = async (call: () => Promise<unknown>): Promise<number> => {
    await call();
    const ms: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const s = performance.now();
      await call();
      ms.push(performance.now() - s);
    }
    ms.sort((x, y) => x - y);
    return ms[Math.floor(ms.length / 2)] ?? NaN;
  };
  const sizesOfTables: string[] = [];
  for (const [size, n] of sizes.entries()) {
    const schema = `bench_list_${n}`;
    const child = await startCoordinator(server.url, schema);
    children.push(child);
    const t0 = performance.now();
    await fillLog(db, schema, n, 'rows');
    console.error(
      `  ${n} transactions written in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const bytes = await db.query<{ t: string; i: string }>(
      `SELECT pg_size_pretty(sum(pg_table_size(c.oid))) AS t, pg_size_pretty(sum(pg_indexes_size(c.oid))) AS i
       FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relkind = 'r'`,
      [schema],
    );
    sizesOfTables.push(`${n} rows: tables ${bytes.rows[0]?.t}, indexes ${bytes.rows[0]?.i}`);
    const operator = new TwopcOperator(`127.0.0.1:${child.port}`, { attempts: 1 });
    try {
      for (const [label, query] of QUERIES) {
        record(label, size, await median(() => operator.list(query)));
        const { nextPageToken } = await operator.list(query);
        if (nextPageToken !== '') {
          const next = { ...query, pageToken: nextPageToken };
          record(`${label}, next page`, size, await median(() => operator.list(next)));
        }
      }
    } finally {
      operator.close();
      await child.stop();
    }
  }
  console.log(
    `\nListTransactions, one page (50), median of ${repeat} calls through the coordinator (ms)\n`,
  );
  console.log(
    `${'filter'.padEnd(40)}${sizes.map((n) => `${n} rows`.padStart(14)).join('')}${'ratio'.padStart(8)}`,
  );
  for (const [label, [a, b]] of timings) {
    const cell = (x: number | undefined): string =>
      (x === undefined ? '–' : x.toFixed(2)).padStart(14);
    const ratio = a === undefined || b === undefined ? '–' : (b / a).toFixed(2);
    console.log(`${label.padEnd(40)}${cell(a)}${cell(b)}${ratio.padStart(8)}`);
  }
  console.log(`\n${sizesOfTables.join('\n')}`);
} finally {
  await Promise.all(children.map((c) => c.stop()));
  await stopLog();
}
