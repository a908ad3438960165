import type { Pool, QueryResultRow } from 'pg';
import { classifyStoreError, isRetryable } from './pg-errors.ts';
import { SQL } from './pg-queries.ts';
import type { QueryName } from './pg-queries.ts';

/**
 * Runs a named statement (prepared once per connection). A deadlock or
 * serialization failure (two batches meeting on a row) is retried a few
 * times: every statement of the store is safe to repeat, being conditional.
 * Connection failures become StoreUnavailableError.
 */
export function runQuery<R extends QueryResultRow>(
  pool: Pool,
  name: QueryName,
  values: unknown[],
): Promise<R[]> {
  return runStatement<R>(pool, { name: `twopc_${name}`, text: SQL[name], values });
}

/** Runs a statement built at run time (named per shape), as runQuery does. */
export async function runStatement<R extends QueryResultRow>(
  pool: Pool,
  statement: { name: string; text: string; values: unknown[] },
): Promise<R[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await pool.query<R>(statement);
      return result.rows;
    } catch (err) {
      if (attempt >= 3 || !isRetryable(err)) {
        throw classifyStoreError(err);
      }
    }
  }
}

/** Runs a named statement and returns how many rows it changed. */
export async function runCount(pool: Pool, name: QueryName, values: unknown[]): Promise<number> {
  try {
    const result = await pool.query({ name: `twopc_${name}`, text: SQL[name], values });
    return result.rowCount ?? 0;
  } catch (err) {
    throw classifyStoreError(err);
  }
}
