import assert from 'node:assert/strict';
import type { Pool } from 'pg';
import { GENERIC_FROM, createPools, queryOn } from '../../src/store/pg-pools.ts';
import { migratedSchema, testDatabaseUrl, withClient } from '../support/db.ts';
import { driveEveryStatement, fillLog, planEvery, planProblems } from '../support/plan-check.ts';

/** Statements of every transaction: prepared once the log is large. */
const HOT = ['beginNew', 'enlist', 'startPreparing', 'recordDecisions', 'recordCompletions', 'get'];

// Every statement of the log, planned with the coordinator's own session
// settings: none may cost enough for PostgreSQL to JIT-compile it (on a
// server with JIT, each execution would pay tens to hundreds of
// milliseconds), none may carry the cost of a disabled plan type, and none
// may read a growing table from end to end — on a new log that grows, and on
// a log whose statements were prepared at the smallest size they are
// prepared at and which then grew twentyfold. test/jit runs the same checks
// on Debian's PostgreSQL, which has JIT.
describe('Plans of the log statements (embedded PostgreSQL)', function () {
  this.timeout(240_000);

  it('a new log plans each statement with its values, and each stays cheap as the log grows', async function () {
    const url = await testDatabaseUrl();
    const schema = await migratedSchema(import.meta.url, 'young');
    const sent = await driveEveryStatement(url, schema);
    assert.deepEqual(
      sent.filter((s) => s.prepared).map((s) => s.name),
      [],
      'statements of a new log may keep the plans made while it was empty',
    );
    // Grown as a young log grows, then counted as autovacuum's first
    // ANALYZE counts it; nothing was prepared, so no plan of the empty log
    // survives either way.
    const { plans, jitAboveCost } = await planEvery(url, schema, sent, false, () =>
      withClient(async (c) => {
        await fillLog(c, schema, 50_000, 500);
        await c.query(`ANALYZE ${schema}.twopc_transactions, ${schema}.twopc_participants`);
      }),
    );
    assert.deepEqual(planProblems(plans, jitAboveCost), []);
  });

  it(`statements prepared once the log holds ${GENERIC_FROM} transactions keep good plans as it grows twentyfold`, async function () {
    const url = await testDatabaseUrl();
    const schema = await migratedSchema(import.meta.url, 'large');
    await withClient(async (c) => {
      await fillLog(c, schema, GENERIC_FROM, 100);
      await c.query(`ANALYZE ${schema}.twopc_transactions, ${schema}.twopc_participants`);
    });
    const sent = await driveEveryStatement(url, schema);
    const prepared = new Set(sent.filter((s) => s.prepared).map((s) => s.name));
    assert.deepEqual(
      HOT.filter((n) => !prepared.has(`twopc_${n}`)),
      [],
      'statements of every transaction planned at each execution on a large log',
    );
    const { plans, jitAboveCost } = await planEvery(url, schema, sent, false, () =>
      withClient((c) => fillLog(c, schema, 20 * GENERIC_FROM, 1_000)),
    );
    assert.deepEqual(planProblems(plans, jitAboveCost), []);
  });
});

describe('Session settings of the log connections', function () {
  it('change nothing the planner or JIT reads: only the schema, the commit mode, the statement timeout and when plans are made', async function () {
    const url = await testDatabaseUrl();
    const schema = await migratedSchema(import.meta.url, 'settings');
    const pools = createPools({ url, schema, maxConnections: 2, onError: () => undefined });
    try {
      for (const pool of [pools.forced, pools.lazy]) {
        const rows = (
          await pool.query<{ name: string; category: string }>(
            `SELECT name, category FROM pg_settings WHERE source = 'client' ORDER BY name`,
          )
        ).rows;
        // plan_cache_mode says when a plan is made (see PlanPolicy), not what it costs.
        const planner = rows.filter(
          (r) => r.category.startsWith('Query Tuning') && r.name !== 'plan_cache_mode',
        );
        assert.deepEqual(planner, [], 'a setting of the pools changes plans');
        assert.deepEqual(
          rows
            .map((r) => r.name)
            .filter((n) => !['client_encoding', 'DateStyle', 'application_name'].includes(n)),
          ['plan_cache_mode', 'search_path', 'statement_timeout', 'synchronous_commit'],
        );
      }
    } finally {
      await Promise.all([pools.forced.end(), pools.lazy.end()]);
    }
  });

  it(`plan every execution with its values until the log holds ${GENERIC_FROM} transactions, then let prepared statements keep generic plans, on every connection`, async function () {
    const url = await testDatabaseUrl();
    const schema = await migratedSchema(import.meta.url, 'modes');
    const pools = createPools({ url, schema, maxConnections: 4, onError: () => undefined });
    // Two statements at once through the store's own path, so that each of
    // the pool's two connections answers.
    const modes = (pool: Pool): Promise<string[]> =>
      Promise.all(
        [0, 1].map(
          async () =>
            (
              await queryOn<{ m: string }>(pool, {
                name: 'mode_check',
                text: `SELECT current_setting('plan_cache_mode') AS m, pg_backend_pid() AS pid, pg_sleep(0.05)`,
                values: [],
              })
            ).rows[0]?.m ?? '',
        ),
      );
    try {
      for (const pool of [pools.forced, pools.lazy]) {
        assert.deepEqual(await modes(pool), ['force_custom_plan', 'force_custom_plan']);
      }
      pools.plans.rows = GENERIC_FROM;
      for (const pool of [pools.forced, pools.lazy]) {
        assert.deepEqual(await modes(pool), ['auto', 'auto']);
      }
      // A log that shrank below (retention): custom plans again.
      pools.plans.rows = GENERIC_FROM - 1;
      for (const pool of [pools.forced, pools.lazy]) {
        assert.deepEqual(await modes(pool), ['force_custom_plan', 'force_custom_plan']);
      }
    } finally {
      await Promise.all([pools.forced.end(), pools.lazy.end()]);
    }
  });
});
