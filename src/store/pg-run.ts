import type { Pool, QueryResultRow } from 'pg';
import { classifyStoreError, isRetryable } from './pg-errors.ts';
import { planPolicyOf, preparing, schemaOf } from './pg-pools.ts';
import { qualify, statementsIn } from './pg-qualify.ts';
import { CUSTOM_PLAN, PREPARED_ALWAYS, SQL } from './pg-queries.ts';
import type { QueryName } from './pg-queries.ts';

/** A statement of the store as sent through a pool: qualified by the pool's schema. */
function textOf(pool: Pool, name: QueryName): string {
  const schema = schemaOf(pool);
  return schema === null ? SQL[name] : statementsIn(schema)[name];
}

/** How a statement may be planned: see statementFor. */
type Planning = 'policy' | 'custom' | 'generic';

/** How a statement of pg-queries.ts is planned (CUSTOM_PLAN, PREPARED_ALWAYS). */
function planningOf(name: QueryName): Planning {
  return CUSTOM_PLAN.has(name) ? 'custom' : PREPARED_ALWAYS.has(name) ? 'generic' : 'policy';
}

/**
 * A statement as pg sends it: named (prepared once per connection) when its
 * generic plan is good at any size of the log, or when the pool's plan
 * policy prepares and the statement's generic plan is good; unnamed (planned
 * with its values at each execution) otherwise, and always behind a pooler
 * in transaction mode (a prepared statement lives in one server session).
 */
function statementFor(
  pool: Pool,
  name: string,
  text: string,
  values: unknown[],
  planning: Planning,
): { name?: string; text: string; values: unknown[] } {
  const policy = planPolicyOf(pool);
  const named =
    planning === 'generic' ? !policy.unprepared : planning === 'policy' && preparing(policy);
  return named ? { name, text, values } : { text, values };
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
    planningOf(name),
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
  return execute<R>(pool, { ...statement, text }, customAlways ? 'custom' : 'policy');
}

/** Sends a statement whose names are qualified already, retrying as runQuery says. */
async function execute<R extends QueryResultRow>(
  pool: Pool,
  statement: { name: string; text: string; values: unknown[] },
  planning: Planning,
): Promise<R[]> {
  const sent = statementFor(pool, statement.name, statement.text, statement.values, planning);
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await pool.query<R>(sent);
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
    const result = await pool.query(
      statementFor(pool, `twopc_${name}`, textOf(pool, name), values, planningOf(name)),
    );
    return result.rowCount ?? 0;
  } catch (err) {
    throw classifyStoreError(err);
  }
}
