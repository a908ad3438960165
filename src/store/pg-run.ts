import type { Pool, QueryResultRow } from 'pg';
import { classifyStoreError, isRetryable } from './pg-errors.ts';
import { planPolicyOf, queryOn, schemaOf } from './pg-pools.ts';
import { qualify, statementsIn } from './pg-qualify.ts';
import { CUSTOM_PLAN, SQL } from './pg-queries.ts';
import type { QueryName } from './pg-queries.ts';

/** A statement of the store as sent through a pool: qualified by the pool's schema. */
function textOf(pool: Pool, name: QueryName): string {
  const schema = schemaOf(pool);
  return schema === null ? SQL[name] : statementsIn(schema)[name];
}

/**
 * A statement as pg sends it: named (prepared once per connection; which
 * plan it runs follows the pool's plan policy, see PlanPolicy), or unnamed
 * (parsed and planned with its values at each execution) when its generic
 * plan goes wrong at any size of the log, and always behind a pooler in
 * transaction mode (a prepared statement lives in one server session).
 */
function statementFor(
  pool: Pool,
  name: string,
  text: string,
  values: unknown[],
  customAlways: boolean,
): { name?: string; text: string; values: unknown[] } {
  return !customAlways && !planPolicyOf(pool).unprepared
    ? { name, text, values }
    : { text, values };
}

/**
 * Runs a statement of the store (see statementFor). A deadlock or
 * serialization failure (two batches meeting on a row) is retried a few
 * times: every statement of the store is safe to repeat, being conditional.
 * Connection failures become StoreUnavailableError.
 */
export function runQuery<R extends QueryResultRow>(
  pool: Pool,
  name: QueryName,
  values: unknown[],
): Promise<R[]> {
  return execute<R>(
    pool,
    { name: `twopc_${name}`, text: textOf(pool, name), values },
    CUSTOM_PLAN.has(name),
  );
}

/**
 * Runs a statement built at run time (named per shape), as runQuery does.
 * @param customAlways planned at each execution whatever the policy (its generic plan goes wrong)
 */
export function runStatement<R extends QueryResultRow>(
  pool: Pool,
  statement: { name: string; text: string; values: unknown[] },
  customAlways = false,
): Promise<R[]> {
  const schema = schemaOf(pool);
  const text = schema === null ? statement.text : qualify(statement.text, schema);
  return execute<R>(pool, { ...statement, text }, customAlways);
}

/** Sends a statement whose names are qualified already, retrying as runQuery says. */
async function execute<R extends QueryResultRow>(
  pool: Pool,
  statement: { name: string; text: string; values: unknown[] },
  customAlways: boolean,
): Promise<R[]> {
  const sent = statementFor(pool, statement.name, statement.text, statement.values, customAlways);
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await queryOn<R>(pool, sent);
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
    const result = await queryOn(
      pool,
      statementFor(pool, `twopc_${name}`, textOf(pool, name), values, CUSTOM_PLAN.has(name)),
    );
    return result.rowCount ?? 0;
  } catch (err) {
    throw classifyStoreError(err);
  }
}
