import pg from 'pg';
import type { Pool } from 'pg';

/**
 * How the store's statements are planned. Every statement is prepared
 * (parsed once per connection: its text is long, and parsing it at each
 * execution cost PostgreSQL more than planning it) except behind a pooler in
 * transaction mode; what changes with the log's size is which plan a
 * prepared statement runs.
 *
 * A generic plan is kept until something invalidates it (an ANALYZE of a
 * table it reads), whatever the table's size by then. Made while the log is
 * young (a few hundred rows: one page or two) it reads the transactions by a
 * sequential scan, and goes on doing so as the log grows to millions of rows
 * (up to autovacuum's first ANALYZE: a minute on a new log). So until the log
 * holds GENERIC_FROM rows (the larger of its statistics' count and the
 * server's live-row counter, read with the incarnation every recovery
 * interval) the connections run with `plan_cache_mode = force_custom_plan`:
 * each execution is planned with its values, and no generic plan is made at
 * all. From then on a connection is set back to `auto` the next time it is
 * taken from the pool (connectionOf), so every generic plan is made at
 * that size or more (the planner scales its statistics to the table's
 * current pages), where the indexes win, and keeps winning as the log grows.
 * plan_cache_mode chooses when a plan is made, never what it costs. Nothing
 * disables a plan type: a disabled one costs 10¹⁰, and on a server with JIT
 * every execution of such a statement is JIT-compiled (hundreds of
 * milliseconds each).
 */
export interface PlanPolicy {
  /** Rows twopc_transactions last held, as the server counts them (-1: not read yet). */
  rows: number;
  /** Never prepare (a connection pooler in transaction mode shares server sessions). */
  readonly unprepared: boolean;
}

/** The log's size from which prepared statements may keep a generic plan (see PlanPolicy). */
export const GENERIC_FROM = 10_000;

/** Whether prepared statements may keep generic plans now under a policy. */
export function preparing(policy: PlanPolicy): boolean {
  return !policy.unprepared && policy.rows >= GENERIC_FROM;
}

/** A connection's plan_cache_mode under a policy. */
type PlanCacheMode = 'auto' | 'force_custom_plan';

function planCacheMode(policy: PlanPolicy): PlanCacheMode {
  return preparing(policy) ? 'auto' : 'force_custom_plan';
}

/** What the store knows of a pool it made. */
interface PoolInfo {
  readonly plans: PlanPolicy;
  readonly schema: string;
}

const pools = new WeakMap<Pool, PoolInfo>();

/** The plan policy of a pool made by createPools (a pool made elsewhere: never prepared). */
export function planPolicyOf(pool: Pool): PlanPolicy {
  return pools.get(pool)?.plans ?? { rows: -1, unprepared: true };
}

/** The log's schema of a pool made by createPools (null: a pool made elsewhere). */
export function schemaOf(pool: Pool): string | null {
  return pools.get(pool)?.schema ?? null;
}

/**
 * What stands between the coordinator and PostgreSQL:
 * - `none`: PostgreSQL itself, or a pooler that gives each client
 *   connection a server session of its own (PgBouncer's session mode);
 *   every connection carries its session settings (startup `options`).
 * - `transaction`: a pooler that hands each transaction whichever server
 *   session is free (PgBouncer's transaction mode): no startup parameter it
 *   refuses, nothing that outlives a transaction (see createPools).
 */
export type LogPooler = 'none' | 'transaction';

/** The two connection pools of the store. */
export interface StorePools {
  /** synchronous_commit = on: decisions and outcomes, durable before anyone is told. */
  readonly forced: Pool;
  /**
   * synchronous_commit = off: writes whose loss can never let a transaction
   * commit (the store's incarnation check) and that tell nobody an outcome.
   */
  readonly lazy: Pool;
  /** Shared by both pools. */
  readonly plans: PlanPolicy;
}

/** How to reach the log. */
export interface PoolOptions {
  readonly url: string;
  /**
   * Schema holding twopc's tables: every statement names them by it, and
   * (without a pooler) it is also every connection's search_path.
   */
  readonly schema: string;
  readonly maxConnections: number;
  readonly onError: (err: Error) => void;
  /** What stands between the coordinator and PostgreSQL (default none). */
  readonly pooler?: LogPooler;
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
    // No setting that changes plan costs; plan_cache_mode starts at custom
    // plans and follows the log's size (see PlanPolicy). Behind a pooler in
    // transaction mode none: it refuses the parameter, and a setting of one
    // server session would not follow the next transaction anyway.
    ...((options.pooler ?? 'none') === 'none'
      ? {
          options: `-c search_path=${options.schema} -c synchronous_commit=${synchronousCommit} -c statement_timeout=30000 -c plan_cache_mode=force_custom_plan`,
        }
      : {}),
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
 *
 * Behind a pooler in transaction mode (`pooler: 'transaction'`) a
 * connection's session lasts one transaction, so nothing relies on one:
 * every statement names the log's tables by schema (the store qualifies them
 * for every pool it made: pg-qualify.ts), none is prepared (a prepared
 * statement lives in one server session), and no session setting is sent.
 * Both pools then commit with the server's synchronous_commit, which the
 * coordinator checks at start-up is `on` (checkSessions): the writes the
 * lazy pool would leave unforced are forced too. Safe, and a flush more per
 * Begin and Enlist batch.
 */
export function createPools(options: PoolOptions): StorePools {
  if (!isValidSchema(options.schema)) {
    throw new Error(`invalid schema name '${options.schema}'`);
  }
  const forcedMax = Math.max(1, Math.floor(options.maxConnections / 2));
  const plans: PlanPolicy = { rows: -1, unprepared: options.pooler === 'transaction' };
  const made = {
    forced: makePool(options, 'on', forcedMax),
    lazy: makePool(options, 'off', Math.max(1, options.maxConnections - forcedMax)),
    plans,
  };
  pools.set(made.forced, { plans, schema: options.schema });
  pools.set(made.lazy, { plans, schema: options.schema });
  return made;
}

/** Each connection's plan_cache_mode once set anew (absent: as it started, custom plans). */
const modes = new WeakMap<pg.PoolClient, PlanCacheMode>();

/**
 * Runs one statement on a connection of the pool, its plan_cache_mode set to
 * the pool's plan policy first if the policy changed since the connection
 * last ran one (a pool made elsewhere, or behind a pooler in transaction
 * mode: left as it is). As pool.query does, a connection that failed or
 * reported an error meanwhile is not reused.
 */
export async function queryOn<R extends pg.QueryResultRow>(
  pool: Pool,
  statement: { name?: string; text: string; values: unknown[] },
): Promise<pg.QueryResult<R>> {
  let broken: Error | null = null;
  const onError = (err: Error): void => {
    broken = err;
  };
  // The listener goes on in pg-pool's callback, not after an await: an
  // error that arrives with the connection's first answer (a server ending
  // a backend as it starts) is emitted before any promise settles.
  const client = await new Promise<pg.PoolClient>((resolve, reject) => {
    pool.connect((err, c) => {
      if (err !== undefined || c === undefined) {
        reject(err ?? new Error('no connection'));
        return;
      }
      c.on('error', onError);
      resolve(c);
    });
  });
  try {
    const plans = pools.get(pool)?.plans;
    if (plans !== undefined && !plans.unprepared) {
      const wanted = planCacheMode(plans);
      if ((modes.get(client) ?? 'force_custom_plan') !== wanted) {
        await client.query(`SET plan_cache_mode = ${wanted}`);
        modes.set(client, wanted);
      }
    }
    return await client.query<R>(statement);
  } catch (err) {
    broken ??= err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken ?? undefined);
  }
}

/** Whether a connection's prepared statements may keep generic plans (see PlanPolicy). */
export function keepsGenericPlans(client: pg.ClientBase): boolean {
  return modes.get(client as pg.PoolClient) === 'auto';
}
