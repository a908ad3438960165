import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { loadTwopcProto } from 'twopc/internal/wire/proto';
import { FakeParticipant } from '../support/fake-participant.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { expectStatus } from '../support/expect-status.ts';

const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe('Coordinator API errors and idempotency', function () {
  let h: Harness;
  let p: FakeParticipant;

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url));
    p = await new FakeParticipant('p').start();
  });
  after(async function () {
    await p.stop();
    await h.stop();
  });

  it('answers NOT_FOUND for Commit, Abort, Heartbeat, Enlist and Get of an unknown id', async function () {
    await expectStatus(h.client.commit(UNKNOWN), grpc.status.NOT_FOUND, /not found/);
    await expectStatus(h.client.abort(UNKNOWN), grpc.status.NOT_FOUND);
    await expectStatus(h.client.heartbeat(UNKNOWN), grpc.status.NOT_FOUND);
    await expectStatus(h.client.enlist(UNKNOWN, p.ref), grpc.status.NOT_FOUND);
    await expectStatus(h.client.get(UNKNOWN), grpc.status.NOT_FOUND);
  });

  it('reads an upper-case txn_id as the same transaction', async function () {
    const { txnId } = await h.client.begin();
    assert.equal((await h.client.get(txnId.toUpperCase())).txnId, txnId);
  });

  it('puts a stable error code in the twopc-error-code trailer', async function () {
    const err = await expectStatus(h.client.get(UNKNOWN), grpc.status.NOT_FOUND);
    assert.deepEqual(err.metadata.get('twopc-error-code'), ['TWOPC_TX_NOT_FOUND']);
  });

  it('rejects Enlist after Commit with FAILED_PRECONDITION', async function () {
    const { txnId } = await h.client.begin();
    await h.client.enlist(txnId, p.ref);
    await h.client.commit(txnId);
    await expectStatus(
      h.client.enlist(txnId, { name: 'late', endpoint: '127.0.0.1:1' }),
      grpc.status.FAILED_PRECONDITION,
      /only while ACTIVE/,
    );
    await expectStatus(h.client.heartbeat(txnId), grpc.status.FAILED_PRECONDITION);
  });

  it('enlists idempotently per name, and refuses the same name with another endpoint', async function () {
    const { txnId } = await h.client.begin();
    assert.equal((await h.client.enlist(txnId, p.ref)).newlyEnlisted, true);
    assert.equal((await h.client.enlist(txnId, p.ref)).newlyEnlisted, false);
    await expectStatus(
      h.client.enlist(txnId, { name: 'p', endpoint: '127.0.0.1:9' }),
      grpc.status.ALREADY_EXISTS,
      /already enlisted/,
    );
    assert.equal((await h.client.get(txnId)).participants.length, 1);
  });

  it('enlists concurrently without duplicates', async function () {
    const { txnId } = await h.client.begin();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => h.client.enlist(txnId, p.ref)),
    );
    assert.equal(results.filter((r) => r.newlyEnlisted).length, 1);
    assert.equal((await h.client.get(txnId)).participants.length, 1);
  });

  it('orders Enlist against a concurrent Commit: a participant told it is enlisted is prepared and told the outcome; otherwise it is refused', async function () {
    const late = await new FakeParticipant('late').start();
    try {
      const tally = { included: 0, refused: 0 };
      // Enlist a little before, with, or a little after Commit. Which one
      // wins depends on the machine's load, so the spread runs until both
      // outcomes were seen (at least 40 rounds, at most 400).
      for (let i = 0; i < 400 && (i < 40 || tally.included === 0 || tally.refused === 0); i++) {
        const { txnId } = await h.client.begin({ participants: [p.ref] });
        const spread = i % 6;
        const enlistLead = spread < 3 ? spread : 0;
        const commitDelayMs = spread < 3 ? 0 : spread - 2;
        const enlisted = (async () => {
          for (let k = 0; k < enlistLead; k++) {
            await new Promise((r) => setImmediate(r));
          }
          return h.client.enlist(txnId, late.ref).then(
            () => true,
            (err: grpc.ServiceError) => {
              assert.equal(err.code, grpc.status.FAILED_PRECONDITION, err.message);
              return false;
            },
          );
        })();
        if (commitDelayMs > 0) {
          await new Promise((r) => setTimeout(r, commitDelayMs * (1 + Math.floor(i / 60))));
        }
        const answer = await h.client.commit(txnId, { waitForAcks: true });
        const included = await enlisted;
        assert.equal(answer.outcome, 'COMMITTED');
        const listed = (await h.client.get(txnId)).participants.map((x) => x.name).sort();
        if (included) {
          tally.included++;
          assert.deepEqual(listed, ['late', 'p'], `txn ${txnId}`);
          assert.equal(late.callsOf('Prepare', txnId).length, 1, `txn ${txnId}: no Prepare`);
          assert.equal(late.callsOf('Commit', txnId).length, 1, `txn ${txnId}: no Commit`);
        } else {
          tally.refused++;
          assert.deepEqual(listed, ['p'], `txn ${txnId}`);
          assert.equal(late.callsOf('Prepare', txnId).length, 0, `txn ${txnId}`);
        }
      }
      assert.ok(
        tally.refused > 0 && tally.included > 0,
        `the race went one way only: ${JSON.stringify(tally)}`,
      );
    } finally {
      await late.stop();
    }
  });

  const invalid: [string, (txnId: string) => Promise<unknown>, RegExp][] = [
    [
      'a malformed txn_id',
      () => h.client.commit('not-a-uuid'),
      /txn_id: 'not-a-uuid' is not a transaction id/,
    ],
    ['an empty txn_id', () => h.client.get(''), /txn_id: is required/],
    ['a txn_id in braces', () => h.client.get(`{${UNKNOWN}}`), /not a transaction id/],
    [
      'an empty participant name',
      (t) => h.client.enlist(t, { name: '', endpoint: '127.0.0.1:1' }),
      /participant.name: is required/,
    ],
    [
      'a participant name with spaces',
      (t) => h.client.enlist(t, { name: 'a b', endpoint: '127.0.0.1:1' }),
      /may hold only/,
    ],
    [
      'an oversized participant name',
      (t) => h.client.enlist(t, { name: 'x'.repeat(65), endpoint: '127.0.0.1:1' }),
      /limit is 64/,
    ],
    [
      'an endpoint without a port',
      (t) => h.client.enlist(t, { name: 'a', endpoint: 'localhost' }),
      /participant.endpoint: 'localhost' is not host:port/,
    ],
    [
      'an endpoint with port 0',
      (t) => h.client.enlist(t, { name: 'a', endpoint: 'localhost:0' }),
      /not host:port/,
    ],
    [
      'an empty endpoint',
      (t) => h.client.enlist(t, { name: 'a', endpoint: '' }),
      /participant.endpoint: is required/,
    ],
    [
      'a lease over the maximum',
      () => h.client.begin({ timeoutMs: 4_000_000 }),
      /timeout_ms: 4000000 ms is over the maximum lease/,
    ],
    [
      'too many labels',
      () =>
        h.client.begin({
          labels: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])),
        }),
      /labels: has 17 entries/,
    ],
    [
      'an oversized label value',
      () => h.client.begin({ labels: { k: 'v'.repeat(300) } }),
      /labels\[k\]: is 300 characters/,
    ],
    [
      'duplicate participants at Begin',
      () =>
        h.client.begin({
          participants: [
            { name: 'a', endpoint: 'h:1' },
            { name: 'a', endpoint: 'h:2' },
          ],
        }),
      /'a' appears twice/,
    ],
    [
      'an oversized abort reason',
      (t) => h.client.abort(t, 'r'.repeat(600)),
      /reason: is 600 characters/,
    ],
    ['a bad page token', () => h.client.list({ pageToken: 'garbage' }), /page_token/],
    [
      'a page size over the limit',
      () => h.client.list({ pageSize: 501 }),
      /page_size: 501 is over the limit/,
    ],
  ];
  for (const [what, call, message] of invalid) {
    it(`answers INVALID_ARGUMENT with a message for ${what}, and loses nothing`, async function () {
      const { txnId } = await h.client.begin();
      await expectStatus(call(txnId), grpc.status.INVALID_ARGUMENT, message);
      const tx = await h.client.get(txnId);
      assert.equal(tx.state, 'ACTIVE');
      assert.equal(tx.participants.length, 0);
    });
  }

  it('rejects a participant without a ParticipantRef (raw proto client)', async function () {
    const { txnId } = await h.client.begin();
    const Ctor = loadTwopcProto().twopc.v1.Coordinator;
    const raw = new Ctor(h.app.address, grpc.credentials.createInsecure());
    try {
      await expectStatus(
        new Promise((resolve, reject) =>
          raw.enlist({ txnId }, (err, res) => (err ? reject(err) : resolve(res))),
        ),
        grpc.status.INVALID_ARGUMENT,
        /participant: is required/,
      );
    } finally {
      raw.close();
    }
  });

  it('aborts an ACTIVE transaction, tells its participants, and answers repeats the same way', async function () {
    const { txnId } = await h.client.begin();
    await h.client.enlist(txnId, p.ref);
    const first = await h.client.abort(txnId, 'changed my mind');
    assert.equal(first.outcome, 'ABORTED');
    assert.equal(first.reason, 'changed my mind');
    await p.waitFor((c) => c.method === 'Abort' && c.txnId === txnId);
    const again = await Promise.all([
      h.client.abort(txnId),
      h.client.abort(txnId),
      h.client.commit(txnId),
    ]);
    assert.deepEqual(
      again.map((a) => a.outcome),
      ['ABORTED', 'ABORTED', 'ABORTED'],
    );
    assert.equal(p.callsOf('Prepare', txnId).length, 0);
  });

  it('refuses Abort after a commit decision', async function () {
    const q = await new FakeParticipant('q').start();
    try {
      const { txnId } = await h.client.begin({ participants: [p.ref, q.ref] });
      await h.client.commit(txnId);
      await expectStatus(
        h.client.abort(txnId),
        grpc.status.FAILED_PRECONDITION,
        /commit decision cannot be aborted/,
      );
      assert.equal((await h.client.commit(txnId)).outcome, 'COMMITTED');
    } finally {
      await q.stop();
    }
  });

  it('lists transactions by state, newest first, in pages', async function () {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await h.client.begin({ labels: { batch: 'list' } })).txnId);
    }
    await h.client.abort(ids[0] ?? '');
    const active: string[] = [];
    let token = '';
    do {
      const page = await h.client.list({ states: ['ACTIVE'], pageSize: 2, pageToken: token });
      assert.ok(page.transactions.length <= 2);
      active.push(...page.transactions.map((t) => t.txnId));
      token = page.nextPageToken;
    } while (token !== '');
    for (const id of ids.slice(1)) {
      assert.ok(active.includes(id), `${id} missing from the ACTIVE listing`);
    }
    assert.ok(!active.includes(ids[0] ?? ''));
    const newestFirst = active.filter((id) => ids.includes(id));
    assert.deepEqual(newestFirst, ids.slice(1).reverse());
    const aborted = await h.client.list({ states: ['ABORTED'] });
    assert.ok(aborted.transactions.some((t) => t.txnId === ids[0] && t.labels.batch === 'list'));
    assert.equal((await h.client.list({ minAgeSeconds: 3600 })).transactions.length, 0);
  });
});
