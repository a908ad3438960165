import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { loggedState, migratedSchema, testDatabaseUrl } from '../support/db.ts';
import { eventually, expectStatus } from '../support/expect-status.ts';
import { FakeParticipant } from '../support/fake-participant.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

describe('PostgreSQL outage (the link cut by a proxy)', function () {
  this.timeout(30_000);
  let h: Harness;
  let proxy: TcpProxy;
  let schema: string;

  before(async function () {
    schema = await migratedSchema(import.meta.url);
    const url = new URL(await testDatabaseUrl());
    proxy = await new TcpProxy(url.hostname, Number(url.port)).start();
    h = await startCoordinator(schema, { databaseUrl: proxy.url(url.toString()) });
  });
  after(async function () {
    proxy.heal();
    await h.stop();
    await proxy.stop();
  });

  it('fails closed: Begin and Commit answer UNAVAILABLE, then work again once the store is back', async function () {
    const { txnId } = await h.client.begin();
    proxy.cut();
    const err = await expectStatus(
      h.client.begin(),
      grpc.status.UNAVAILABLE,
      /transaction log is unreachable/,
    );
    assert.deepEqual(err.metadata.get('twopc-error-code'), ['TWOPC_STORE_UNAVAILABLE']);
    await expectStatus(h.client.commit(txnId), grpc.status.UNAVAILABLE);
    proxy.heal();
    assert.equal(
      (await eventually(() => h.client.commit(txnId).catch(() => null))).outcome,
      'COMMITTED',
    );
  });

  it('sends nothing while the decision write is in doubt, then finishes once the store answers', async function () {
    const a = await new FakeParticipant('a').start();
    const b = await new FakeParticipant('b', { prepareDelayMs: 400 }).start();
    try {
      const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
      const first = h.client.commit(txnId).then(
        (x) => x.outcome,
        (e: grpc.ServiceError) => grpc.status[e.code],
      );
      await b.waitFor((c) => c.method === 'Prepare' && c.txnId === txnId);
      // Prepare leaves with the commit claim: cut once the claim is in the
      // log (read directly, not through the proxy), while b still votes.
      await eventually(async () => (await loggedState(schema, txnId)) === 'PREPARING');
      proxy.cut(); // the decision write will fail: the store is gone when the votes are in
      assert.equal(await first, 'UNAVAILABLE');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(
        a.callsOf('Commit', txnId).length + a.callsOf('Abort', txnId).length,
        0,
        'a phase-2 message left without a durable decision',
      );
      proxy.heal();
      const answer = await eventually(
        () => h.client.commit(txnId).catch(() => null),
        15_000,
        'an answer after the outage',
      );
      assert.equal(answer.outcome, 'COMMITTED');
      await eventually(async () => (await h.client.get(txnId)).state === 'COMMITTED', 15_000);
      for (const p of [a, b]) {
        assert.equal(p.callsOf('Abort', txnId).length, 0);
        assert.ok(p.callsOf('Commit', txnId).length >= 1);
      }
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
