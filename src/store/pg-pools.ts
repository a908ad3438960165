import pg from 'pg';
import type { Pool } from 'pg';

/** The two connection pools of the store. */
export interface StorePools {
  /** synchronous_commit = on: decisions and outcomes, durable before anyone is told. */
  readonly forced: Pool;
  /**
   * synchronous_commit = off: writes whose loss can never let a transaction
   * commit (the store's incarnation check) and that tell nobody an outcome.
   */
  readonly lazy: Pool;
}

/** How to reach the log. */
export interface PoolOptions {
  readonly url: string;
  /** Schema holding twopc's tables (search_path of every connection). */
  readonly schema: string;
  readonly maxConnections: number;
  readonly onError: (err: Error) => void;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/** Checks a schema name; it is spliced into connection options, so strictly. */
export function isValidSchema(schema: string): boolean {
  return SCHEMA.test(schema);
}

function makePool(options: PoolOptions, synchronousCommit: 'on' | 'off', max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // The schema is validated by isValidSchema; options are server settings.
    // enable_seqscan=off: every statement of the store finds its rows by
    // key or through a partial index. A statement prepared on a connection
    // keeps the generic plan made after its fifth run, and one made while the
    // log was nearly empty scans the whole table; it would stay cached as the
    // table grows until the next ANALYZE (over a minute on a new log, every
    // statement reading thousands of rows per transaction meanwhile).
    options: `-c search_path=${options.schema} -c synchronous_commit=${synchronousCommit} -c statement_timeout=30000 -c enable_seqscan=off`,
    application_name: 'twopc',
  });
  // An idle connection that breaks must not crash the process: the next
  // query reconnects and reports the outage as StoreUnavailableError.
  pool.on('error', options.onError);
  return pool;
}

/**
 * Opens the two pools of the store: one whose commits are forced to disk,
 * one whose commits are not (the writes presumed abort makes safe to lose).
 */
export function createPools(options: PoolOptions): StorePools {
  if (!isValidSchema(options.schema)) {
    throw new Error(`invalid schema name '${options.schema}'`);
  }
  const forcedMax = Math.max(1, Math.floor(options.maxConnections / 2));
  return {
    forced: makePool(options, 'on', forcedMax),
    lazy: makePool(options, 'off', Math.max(1, options.maxConnections - forcedMax)),
  };
}
