import assert from 'node:assert/strict';
import pg from 'pg';
import { migrate } from '../../src/store/migrate.ts';
import { GENERIC_FROM } from '../../src/store/pg-pools.ts';
import { OwnPostgres } from '../support/own-postgres.ts';
import { driveEveryStatement, fillLog, planEvery, planProblems } from '../support/plan-check.ts';

// The plan checks of test/integration/plans.test.ts on the PostgreSQL users
// run: Debian's postgresql-15, which ships the LLVM JIT provider with
// jit = on. Each statement is executed under EXPLAIN ANALYZE (rolled back),
// so a statement PostgreSQL would JIT-compile shows its JIT section.
async function withClient(url: string, fn: (c: pg.Client) => Promise<void>): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await fn(c);
  } finally {
    await c.end();
  }
}

describe('Plans of the log statements on a PostgreSQL with JIT (Debian postgresql-15)', function () {
  this.timeout(300_000);
  let server: OwnPostgres;

  before(async function () {
    server = await OwnPostgres.create({}, {}, 'system');
    const [row] = await server.sql<{ jit: string; available: boolean; version: string }>(
      `SELECT current_setting('jit') AS jit, pg_jit_available() AS available, version() AS version`,
    );
    assert.equal(row?.jit, 'on', 'the server under test runs with jit = on');
    assert.equal(row?.available, true, `JIT is available on ${row?.version ?? '?'}`);
  });
  after(async function () {
    await server?.destroy();
  });

  it('no statement of a new log is JIT-compiled as it grows', async function () {
    const url = server.url();
    await migrate(url, 'jit_young', () => undefined);
    const sent = await driveEveryStatement(url, 'jit_young');
    const { plans, jitAboveCost } = await planEvery(url, 'jit_young', sent, true, () =>
      withClient(url, async (c) => {
        await fillLog(c, 'jit_young', 50_000, 500);
        await c.query('ANALYZE jit_young.twopc_transactions, jit_young.twopc_participants');
      }),
    );
    assert.ok(jitAboveCost > 0, 'jit_above_cost as shipped');
    assert.deepEqual(planProblems(plans, jitAboveCost), []);
  });

  it('no statement prepared on a large log is JIT-compiled as it grows twentyfold', async function () {
    const url = server.url();
    await migrate(url, 'jit_large', () => undefined);
    await withClient(url, async (c) => {
      await fillLog(c, 'jit_large', GENERIC_FROM, 100);
      await c.query('ANALYZE jit_large.twopc_transactions, jit_large.twopc_participants');
      const sent = await driveEveryStatement(url, 'jit_large');
      const { plans, jitAboveCost } = await planEvery(url, 'jit_large', sent, true, () =>
        fillLog(c, 'jit_large', 20 * GENERIC_FROM, 1_000),
      );
      assert.deepEqual(planProblems(plans, jitAboveCost), []);
    });
  });
});
