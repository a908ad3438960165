import assert from 'node:assert/strict';
import { GENERIC_FROM, createPools } from '../../src/store/pg-pools.ts';
import { PREPARED_ALWAYS } from '../../src/store/pg-queries.ts';
import { migratedSchema, testDatabaseUrl, withClient } from '../support/db.ts';
import { driveEveryStatement, fillLog, planEvery, planProblems } from '../support/plan-check.ts';

/** Statements of every transaction: prepared once the log is large. */
const HOT = ['begin', 'enlist', 'startPreparing', 'recordDecisions', 'recordCompletions', 'get'];

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
      [...new Set(sent.filter((s) => s.prepared).map((s) => s.name.replace(/_folded$/, '')))],
      [...PREPARED_ALWAYS].map((n) => `twopc_${n}`),
      'statements prepared on a new log keep the plans made while it was empty',
    );
    // Grown as a young log grows, then counted as autovacuum's first
    // ANALYZE counts it; only the statements prepared at any size keep a
    // plan of the empty log, and it must stay good.
    const { plans, jitAboveCost } = await planEvery(url, schema, sent, false, () =>
      withClient(async (c) => {
        await fillLog(c, schema, 50_000, 500);
        await c.query(`ANALYZE ${schema}.twopc_transactions, ${schema}.twopc_participants`);
      }),
    );
    assert.deepEqual(planProblems(plans, jitAboveCost), []);
  });

  it('statements prepared at any size keep good plans made on an empty log as it grows, before any ANALYZE', async function () {
    const url = await testDatabaseUrl();
    const schema = await migratedSchema(import.meta.url, 'unanalyzed');
    const sent = await driveEveryStatement(url, schema);
    // An ANALYZE invalidates cached plans: without one (autovacuum's first
    // comes up to a minute in), the generic plans made on the empty log are
    // the ones a growing log is served with.
    const { plans, jitAboveCost } = await planEvery(url, schema, sent, false, () =>
      withClient((c) => fillLog(c, schema, 50_000, 500)),
    );
    const generic = plans.flatMap((p) =>
      p.generic === null ? [] : [{ name: `${p.name} generic`, custom: p.generic, generic: null }],
    );
    assert.deepEqual(
      [...new Set(generic.map((p) => p.name.replace(/(_folded)? generic$/, '')))].sort(),
      [...PREPARED_ALWAYS].map((n) => `twopc_${n}`).sort(),
    );
    // Custom plans, made before any ANALYZE, are the first test's.
    assert.deepEqual(planProblems(generic, jitAboveCost), []);
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
  it('change nothing the planner or JIT reads: only the schema, the commit mode and the statement timeout', async function () {
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
        const planner = rows.filter((r) => r.category.startsWith('Query Tuning'));
        assert.deepEqual(planner, [], 'a setting of the pools changes plans');
        assert.deepEqual(
          rows
            .map((r) => r.name)
            .filter((n) => !['client_encoding', 'DateStyle', 'application_name'].includes(n)),
          ['search_path', 'statement_timeout', 'synchronous_commit'],
        );
      }
    } finally {
      await Promise.all([pools.forced.end(), pools.lazy.end()]);
    }
  });
});
