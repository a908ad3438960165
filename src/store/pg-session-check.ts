import { createPools } from './pg-pools.ts';
import type { LogPooler, PoolOptions, StorePools } from './pg-pools.ts';

/** The log's connections cannot be used as configured: told in one line, not retried. */
export class LogSessionError extends Error {}

/** SQLSTATE protocol_violation: how PgBouncer refuses a startup parameter it does not know. */
const PROTOCOL_VIOLATION = '08P01';

/** The synchronous_commit values under which a commit is flushed before it is acknowledged. */
const FORCED = new Set(['on', 'remote_apply']);

/**
 * Checks, before anything else is sent, that the log's connections are what
 * the store relies on: the commit decision durable before anyone is told
 * (DESIGN §3 rule 2).
 *
 * - Without a pooler setting, every connection carries its session settings
 *   as the startup parameter `options`. A pooler in transaction mode refuses
 *   it (PgBouncer: protocol violation, `unsupported startup parameter`), or
 *   drops it if told to ignore it (the connection's search_path is then not
 *   the log's schema); either way the coordinator would run without its
 *   settings, so it refuses to start and names the setting.
 * - Behind a pooler in transaction mode nothing is set per session: the
 *   server's own synchronous_commit for the role must force commits.
 * @throws LogSessionError saying what to change; connection errors as pg gives them
 */
export async function checkSessions(
  pools: StorePools,
  pooler: LogPooler,
  schema: string,
): Promise<void> {
  let row: { sync: string; path: string; role: string } | undefined;
  try {
    row = (
      await pools.forced.query<{ sync: string; path: string; role: string }>(
        "SELECT current_setting('synchronous_commit') AS sync, current_setting('search_path') AS path, quote_ident(current_user) AS role",
      )
    ).rows[0];
  } catch (err) {
    if (pooler === 'none' && (err as { code?: unknown }).code === PROTOCOL_VIOLATION) {
      throw new LogSessionError(
        `the log's server refused the connection's session settings (${(err as Error).message}): a connection pooler in transaction mode is in front of PostgreSQL; start with --log-pooler transaction (TWOPC_LOG_POOLER=transaction)`,
      );
    }
    throw err;
  }
  const sync = row?.sync ?? 'unknown';
  const path = row?.path ?? 'unknown';
  if (pooler === 'none' && (sync !== 'on' || path !== schema)) {
    const which =
      sync !== 'on'
        ? `synchronous_commit is ${sync}, not on`
        : `search_path is ${path}, not ${schema}`;
    throw new LogSessionError(
      `the log's connections did not get their session settings (${which}): a connection pooler drops them; behind one in transaction mode start with --log-pooler transaction (TWOPC_LOG_POOLER=transaction)`,
    );
  }
  if (pooler === 'transaction' && !FORCED.has(sync)) {
    const role = row?.role ?? 'the coordinator';
    throw new LogSessionError(
      `synchronous_commit is ${sync} for role ${role} on the log's PostgreSQL, and behind a pooler (--log-pooler transaction) the coordinator cannot set it per session: a commit decision must be durable before anyone is told; run ALTER ROLE ${role} SET synchronous_commit = on (then reconnect the pooler's server connections)`,
    );
  }
}

/**
 * Opens the store's pools, checks their sessions before anything is written
 * (checkSessions), then runs `prepare` (the migrations); the pools are
 * closed again if either fails.
 * @throws LogSessionError, or what `prepare` throws
 */
export async function openCheckedPools<T>(
  options: PoolOptions,
  prepare: () => Promise<T>,
): Promise<{ pools: StorePools; prepared: T }> {
  const pools = createPools(options);
  try {
    await checkSessions(pools, options.pooler ?? 'none', options.schema);
    return { pools, prepared: await prepare() };
  } catch (err) {
    await Promise.all([pools.forced.end(), pools.lazy.end()]).catch(() => undefined);
    throw err;
  }
}
