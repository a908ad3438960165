// What the benchmark reads from a log's PostgreSQL: sizes, WAL position and
// fsyncs (pg_stat_wal), and the WAL's records (pg_walinspect).
import type pg from 'pg';

/** Bytes of the tables (with their indexes and TOAST) of `schema`. */
export async function relationBytes(pool: pg.Pool, schema: string): Promise<number> {
  const r = await pool.query<{ n: string }>(
    "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
    [schema],
  );
  return Number(r.rows[0]?.n);
}

/** WAL fsyncs so far (pg_stat_wal: the log's durable waits, shared by group commit). */
export async function walSyncs(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ n: string }>('SELECT wal_sync AS n FROM pg_stat_wal');
  return Number(r.rows[0]?.n ?? 0);
}

/** The WAL's current position, in bytes. */
export async function walLsn(pool: pg.Pool): Promise<bigint> {
  const r = await pool.query<{ b: string }>(
    "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS b",
  );
  return BigInt(r.rows[0]?.b ?? '0');
}

/** Makes `walRecords` possible (pg_walinspect). */
export async function enableWalInspection(pool: pg.Pool): Promise<void> {
  await pool.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
}

/** WAL bytes and records of one relation or record type. */
export interface WalRecords {
  readonly k: string;
  readonly bytes: number;
  readonly records: number;
}

/** The WAL written between two positions, by relation and by record type, largest first. */
export interface WalProfile {
  readonly relation: WalRecords[];
  readonly recordType: WalRecords[];
}

/** The WAL written between `from` and `to` (positions from `walLsn`), by pg_walinspect. */
export async function walProfile(pool: pg.Pool, from: bigint, to: bigint): Promise<WalProfile> {
  const lsn = (b: bigint): string => `${(b >> 32n).toString(16)}/${(b & 0xffffffffn).toString(16)}`;
  // PostgreSQL 15 refuses an end past the flushed WAL: wait for the WAL
  // writer to flush the window's unforced commits.
  for (;;) {
    const r = await pool.query<{ b: string }>(
      "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')::bigint AS b",
    );
    if (BigInt(r.rows[0]?.b ?? '0') >= to) {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const by = async (key: string): Promise<WalRecords[]> =>
    (
      await pool.query<{ k: string; bytes: string; records: string }>(
        `SELECT ${key} AS k, sum(record_length)::bigint AS bytes, count(*)::bigint AS records
           FROM (SELECT *, COALESCE(pg_filenode_relation(0, substring(block_ref from 'rel \\d+/\\d+/(\\d+)')::oid)::text,
                                    '(' || resource_manager || ')') AS relation
                 FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)) r
           GROUP BY 1 ORDER BY 2 DESC`,
        [lsn(from), lsn(to)],
      )
    ).rows.map((r) => ({ k: r.k, bytes: Number(r.bytes), records: Number(r.records) }));
  const relation = await by('relation');
  const recordType = await by("resource_manager || ' ' || record_type");
  return { relation, recordType };
}

/** The WAL of several logs (shards) as one profile: bytes and records summed by key, largest first. */
export function mergeWalProfiles(profiles: readonly WalProfile[]): WalProfile {
  const merge = (lists: WalRecords[][]): WalRecords[] => {
    const sums = new Map<string, { bytes: number; records: number }>();
    for (const r of lists.flat()) {
      const sum = sums.get(r.k) ?? { bytes: 0, records: 0 };
      sums.set(r.k, { bytes: sum.bytes + r.bytes, records: sum.records + r.records });
    }
    return [...sums].map(([k, v]) => ({ k, ...v })).sort((a, b) => b.bytes - a.bytes);
  };
  return {
    relation: merge(profiles.map((p) => p.relation)),
    recordType: merge(profiles.map((p) => p.recordType)),
  };
}

/** The size of one of the log's tables and of its indexes, as PostgreSQL prints them. */
export interface TableSize {
  readonly relname: string;
  readonly t: string;
  readonly i: string;
}

/** The sizes of the log's two tables in `schema`. */
export async function logTableSizes(pool: pg.Pool, schema: string): Promise<TableSize[]> {
  const sizes = await pool.query<{ relname: string; t: string; i: string }>(
    `SELECT c.relname, pg_size_pretty(pg_table_size(c.oid)) AS t, pg_size_pretty(pg_indexes_size(c.oid)) AS i
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relname IN ('twopc_transactions', 'twopc_participants') ORDER BY 1 DESC`,
    [schema],
  );
  return sizes.rows;
}

/** One statement's share of a window (pg_stat_statements), totals over the window. */
export interface StatementTimes {
  /** The statement's text, whitespace folded, cut short. */
  readonly text: string;
  readonly calls: number;
  readonly planMs: number;
  readonly execMs: number;
}

/** Forgets what pg_stat_statements counted so far (the start of a window). */
export async function resetStatements(pool: pg.Pool): Promise<void> {
  await pool.query('SELECT pg_stat_statements_reset()');
}

/** What pg_stat_statements counted since the reset, most time first. */
export async function statementTimes(pool: pg.Pool): Promise<StatementTimes[]> {
  const r = await pool.query<{ text: string; calls: string; plan: number; exec: number }>(
    `SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS text, calls,
            total_plan_time AS plan, total_exec_time AS exec
     FROM pg_stat_statements
     WHERE query NOT LIKE '%pg_stat_statements%'
     ORDER BY total_plan_time + total_exec_time DESC LIMIT 12`,
  );
  return r.rows.map((x) => ({
    text: x.text,
    calls: Number(x.calls),
    planMs: x.plan,
    execMs: x.exec,
  }));
}
