import assert from 'node:assert/strict';
import type { PgTransactionStore } from '../../src/store/pg-transaction-store.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema, sql, storeOver } from '../support/db.ts';
import { FakeParticipant } from '../support/fake-participant.ts';

describe("retention (the log's checkpoint)", function () {
  let h: Harness;
  let schema: string;
  let store: PgTransactionStore;

  before(async function () {
    schema = await migratedSchema(import.meta.url);
    h = await startCoordinator(schema);
    store = await storeOver(schema);
  });
  after(async function () {
    await store.close();
    await h.stop();
  });

  it('deletes finished transactions past retention in small batches, never unfinished ones', async function () {
    const down = await new FakeParticipant('down', { failCommitTimes: 1_000_000 }).start();
    const up = await new FakeParticipant('up').start();
    try {
      const finished: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { txnId } = await h.client.begin();
        await h.client.abort(txnId);
        finished.push(txnId);
      }
      const { txnId: stuck } = await h.client.begin({ participants: [down.ref, up.ref] });
      assert.equal((await h.client.commit(stuck)).outcome, 'COMMITTED');
      const { txnId: recent } = await h.client.begin();
      await h.client.abort(recent);
      await sql(
        schema,
        `UPDATE twopc_transactions SET finished_at = now() - interval '2 hours', created_at = now() - interval '2 hours', updated_at = now() - interval '2 hours' WHERE txn_id <> $1`,
        [recent],
      );

      const batches: number[] = [];
      for (let n = -1; n !== 0;) {
        n = await store.deleteFinished(3_600_000, 2);
        batches.push(n);
      }
      assert.deepEqual(batches, [2, 2, 1, 0]);
      const left = (
        await sql<{ txn_id: string; state: string }>(
          schema,
          'SELECT txn_id, state FROM twopc_transactions',
        )
      )
        .map((r) => r.txn_id)
        .sort();
      assert.deepEqual(
        left,
        [stuck, recent].sort(),
        'an unacknowledged or recent transaction was deleted',
      );
      const parts = await sql<{ n: number }>(
        schema,
        'SELECT count(*)::int AS n FROM twopc_participants WHERE txn_id = ANY($1::uuid[])',
        [finished],
      );
      assert.equal(parts[0]?.n, 0);
    } finally {
      await down.stop();
      await up.stop();
    }
  });
});
