import { parseArgs } from 'node:util';
import { parseBenchServer } from './bench-log.ts';
import type { PostgresBuild } from './bench-log.ts';
import type { EnlistMode } from './load.ts';

/** What `npm run bench` was asked to do, checked. */
export interface BenchOptions {
  /** The PostgreSQL measured on (floor and twopc alike): the system's, JIT on, where installed. */
  readonly build: PostgresBuild;
  readonly participants: number;
  readonly inflight: number;
  /** Seconds of each measured window, of its warm-up, and rounds of every target (--quick: 3, 1, 1). */
  readonly duration: number;
  readonly warmup: number;
  readonly rounds: number;
  readonly enlist: EnlistMode;
  /** Business calls at each participant between Begin and Commit (see LoadShape). */
  readonly calls: number;
  /** Finished transactions in each window's log before it starts (0: a new log, the default). */
  readonly logRows: number;
  /** Transactions started per second (a steady run below the maximum); null: as fast as they finish. */
  readonly rate: number | null;
  /** Shards of the log for twopc's targets: each its own PostgreSQL (the floor uses the first). */
  readonly shards: number;
  readonly secure: boolean;
  readonly chart: boolean;
  readonly walProfile: boolean;
  /** Each window's log statements by pg_stat_statements: calls, planning and execution per transaction. */
  readonly statementProfile: boolean;
  readonly retentionHours: string | undefined;
  /** Only this target (twopc, batched or secure) besides the floor in the rounds. */
  readonly only: string | undefined;
  /** Instead of the rounds: this many transactions left ACTIVE at once. */
  readonly open: number | undefined;
  /** The results file (default: bench/results/bench-<time>.json). */
  readonly out: string | undefined;
}

/**
 * Reads the command line; a bad value ends the process with status 2 and
 * a line saying what to fix.
 */
export function parseBenchOptions(): BenchOptions {
  const { values: opts } = parseArgs({
    options: {
      participants: { type: 'string', default: '2' },
      inflight: { type: 'string', default: '64' },
      duration: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '4' },
      chart: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      open: { type: 'string' },
      only: { type: 'string' },
      enlist: { type: 'string', default: 'begin' },
      calls: { type: 'string', default: '0' },
      'log-rows': { type: 'string', default: '0' },
      secure: { type: 'boolean', default: false },
      'wal-profile': { type: 'boolean', default: false },
      'statement-profile': { type: 'boolean', default: false },
      rate: { type: 'string' },
      'retention-hours': { type: 'string' },
      shards: { type: 'string', default: '1' },
      server: { type: 'string' },
    },
  });
  const build = parseBenchServer(opts.server);
  const quick = opts.quick ?? false;
  const participants = Number(opts.participants);
  const inflight = Number(opts.inflight);
  const enlist = opts.enlist as EnlistMode;
  const rate = opts.rate === undefined ? null : Number(opts.rate);
  if (rate !== null && !(rate > 0)) {
    fail('--rate must be a positive number of transactions per second');
  }
  if (
    !(participants >= 1 && participants <= 5) ||
    !(inflight >= 1 && inflight <= 256) ||
    !['begin', 'calls'].includes(enlist)
  ) {
    fail('--participants must be 1-5, --inflight 1-256 and --enlist begin or calls');
  }
  const calls = Number(opts.calls);
  if (!(Number.isInteger(calls) && calls >= 0 && calls <= 10)) {
    fail('--calls must be 0-10 business calls at each participant per transaction');
  }
  if (calls > 0 && opts.secure === true) {
    fail('--calls makes plaintext business calls: leave out --secure');
  }
  const logRows = Number(opts['log-rows']);
  if (!(Number.isInteger(logRows) && logRows >= 0 && logRows <= 10_000_000)) {
    fail('--log-rows must be 0-10000000 finished transactions');
  }
  const shards = Number(opts.shards);
  if (logRows > 0 && shards > 1) {
    fail('--log-rows fills one log: leave out --shards');
  }
  if (!(Number.isInteger(shards) && shards >= 1 && shards <= 8)) {
    fail('--shards must be 1-8');
  }
  if (opts.only !== undefined && !['twopc', 'batched', 'secure'].includes(opts.only)) {
    fail('--only must be twopc, batched or secure (the floor is measured with it in every round)');
  }
  if (opts.only === 'secure' && opts.secure !== true) {
    fail('--only secure needs --secure');
  }
  return {
    build,
    participants,
    inflight,
    duration: quick ? 3 : Number(opts.duration),
    warmup: quick ? 1 : Number(opts.warmup),
    rounds: quick ? 1 : Number(opts.rounds),
    enlist,
    calls,
    logRows,
    rate,
    shards,
    secure: opts.secure ?? false,
    chart: opts.chart ?? false,
    walProfile: opts['wal-profile'] ?? false,
    statementProfile: opts['statement-profile'] ?? false,
    retentionHours: opts['retention-hours'],
    only: opts.only,
    open: opts.open === undefined ? undefined : Number(opts.open),
    out: opts.out,
  };
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
