import assert from 'node:assert/strict';
import { FakeParticipant } from '../support/fake-participant.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { loggedState, migratedSchema, sql } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';

describe('Transaction lease', function () {
  let h: Harness;
  let schema: string;
  let p: FakeParticipant;

  before(async function () {
    schema = await migratedSchema(import.meta.url);
    h = await startCoordinator(schema);
    p = await new FakeParticipant('p').start();
  });
  after(async function () {
    await p.stop();
    await h.stop();
  });

  it('aborts an abandoned transaction at lease expiry and tells its participants', async function () {
    const { txnId } = await h.client.begin({ timeoutMs: 60_000 });
    await h.client.enlist(txnId, p.ref);
    // Backdate the lease rather than wait for it: expiry is the database's now().
    await sql(
      schema,
      `UPDATE twopc_transactions SET lease_expires_at = now() - interval '1 second' WHERE txn_id = $1`,
      [txnId],
    );
    const tx = await eventually(async () => {
      const t = await h.client.get(txnId);
      return t.state === 'ABORTED' ? t : null;
    });
    assert.equal(tx.reason, 'LEASE_EXPIRED');
    assert.ok(p.callsOf('Abort', txnId).length >= 1);
    const late = await h.client.commit(txnId);
    assert.equal(late.outcome, 'ABORTED');
    assert.equal(late.reason, 'LEASE_EXPIRED');
  });

  it('extends the lease on Heartbeat, never shortening it', async function () {
    const { txnId, leaseExpiresAt } = await h.client.begin({ timeoutMs: 2_000 });
    const beat = await h.client.heartbeat(txnId, 30_000);
    assert.equal(beat.state, 'ACTIVE');
    assert.ok(
      (beat.leaseExpiresAt?.getTime() ?? 0) > (leaseExpiresAt?.getTime() ?? Infinity) + 20_000,
    );
    const shorter = await h.client.heartbeat(txnId, 1_000);
    assert.equal(shorter.leaseExpiresAt?.getTime(), beat.leaseExpiresAt?.getTime());
  });

  it('keeps a heartbeated transaction alive past its original lease (real time)', async function () {
    this.timeout(10_000);
    const { txnId } = await h.client.begin({ timeoutMs: 600 });
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 250));
      await h.client.heartbeat(txnId);
    }
    assert.equal((await h.client.get(txnId)).state, 'ACTIVE');
    await eventually(
      async () => (await h.client.get(txnId)).state === 'ABORTED',
      5_000,
      'lease expiry',
    );
  });

  it('does not expire a transaction once Commit has started', async function () {
    const q = await new FakeParticipant('q', { prepareDelayMs: 400 }).start();
    try {
      const { txnId } = await h.client.begin({ timeoutMs: 60_000, participants: [p.ref, q.ref] });
      const commit = h.client.commit(txnId);
      await q.waitFor((c) => c.method === 'Prepare' && c.txnId === txnId);
      // Prepare leaves with the commit claim: expire the lease once it is logged.
      await eventually(async () => (await loggedState(schema, txnId)) === 'PREPARING');
      await sql(
        schema,
        `UPDATE twopc_transactions SET lease_expires_at = now() - interval '1 second' WHERE txn_id = $1`,
        [txnId],
      );
      assert.equal((await commit).outcome, 'COMMITTED');
    } finally {
      await q.stop();
    }
  });
});
