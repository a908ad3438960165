import assert from 'node:assert/strict';
import { LogLayout } from '../../src/store/log-layout.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import { migratedSchema, sql } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';

// A coordinator creates the folded layout (log-layout.ts) only while every
// coordinator live on the log reads it: one of release 0.1.0 (registered
// without a version) or of a pre-release of 0.2.0 makes it create rows,
// until that one's lease runs out. It looks at start-up and at each renewal
// of its own lease.

const OLD = '00000000-0000-4000-8000-0000000000e1';

async function layoutOf(schema: string, txnId: string): Promise<LogLayout> {
  const [row] = await sql<{ folded: boolean }>(
    schema,
    'SELECT participants IS NOT NULL AS folded FROM twopc_transactions WHERE txn_id = $1',
    [txnId],
  );
  assert.ok(row !== undefined, `no row for ${txnId}`);
  return row.folded ? LogLayout.FOLDED : LogLayout.ROWS;
}

describe('the layout a coordinator creates follows the releases live on the log', function () {
  this.timeout(30_000);
  const fleet = new FakeFleet();
  let was: string | undefined;
  before(function () {
    // This file tests the default: nothing forced.
    was = process.env.TWOPC_INTERNAL_LOG_LAYOUT;
    delete process.env.TWOPC_INTERNAL_LOG_LAYOUT;
  });
  after(async function () {
    if (was !== undefined) {
      process.env.TWOPC_INTERNAL_LOG_LAYOUT = was;
    }
    await fleet.stopAll();
  });

  it('creates folded transactions on a log only releases reading them share', async function () {
    const schema = await migratedSchema(import.meta.url, 'alone');
    const p = await fleet.start('alone-p');
    await sql(
      schema,
      `INSERT INTO twopc_coordinators (id, name, lease_expires_at, version)
       VALUES ($1, 'of-0.2.0', now() + interval '10 minutes', '0.2.0')`,
      [OLD],
    );
    const h = await startCoordinator(schema);
    try {
      const { txnId } = await h.client.begin({ participants: [p.ref] });
      assert.equal(await layoutOf(schema, txnId), LogLayout.FOLDED);
    } finally {
      await h.stop();
    }
  });

  for (const version of [null, '0.2.0-dev.0']) {
    it(`creates rows while a coordinator of ${version ?? '0.1.0 (no version)'} holds a live lease, and folded once it is gone`, async function () {
      const schema = await migratedSchema(import.meta.url, `old-${version ?? 'none'}`);
      const p = await fleet.start(`old-${version ?? 'none'}-p`);
      await sql(
        schema,
        `INSERT INTO twopc_coordinators (id, name, lease_expires_at, version)
         VALUES ($1, 'older', now() + interval '10 minutes', $2)`,
        [OLD, version],
      );
      // Renewals every 300 ms.
      const h = await startCoordinator(schema, { coordinatorLeaseMs: 900 });
      try {
        for (let i = 0; i < 3; i++) {
          const { txnId } = await h.client.begin({ participants: [p.ref] });
          assert.equal(
            await layoutOf(schema, txnId),
            LogLayout.ROWS,
            'created beside an older release',
          );
          assert.equal((await h.client.commit(txnId)).outcome, 'COMMITTED');
        }
        // Its lease runs out (a clean stop deletes the row instead).
        await sql(
          schema,
          `UPDATE twopc_coordinators SET lease_expires_at = now() - interval '1 second' WHERE id = $1`,
          [OLD],
        );
        await eventually(
          async () => {
            const { txnId } = await h.client.begin({ participants: [p.ref] });
            await h.client.abort(txnId);
            return (await layoutOf(schema, txnId)) === LogLayout.FOLDED;
          },
          10_000,
          'a transaction created folded once the older coordinator is gone',
        );
      } finally {
        await h.stop();
      }
    });
  }
});
