import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { TwopcOperator } from 'twopc/internal/twopc-operator';
import { FakeFleet } from '../support/fake-participant.ts';
import type { FakeBehaviour, FakeParticipant } from '../support/fake-participant.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually, expectStatus } from '../support/expect-status.ts';

describe('Commit (integration: real PostgreSQL, real gRPC participants)', function () {
  let h: Harness;
  const fleet = new FakeFleet();

  const fake = (name: string, behaviour: FakeBehaviour = {}): Promise<FakeParticipant> =>
    fleet.start(name, behaviour);

  async function begin(...participants: FakeParticipant[]): Promise<string> {
    const { txnId } = await h.client.begin();
    for (const p of participants) {
      await h.client.enlist(txnId, p.ref);
    }
    return txnId;
  }

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url));
  });
  after(async function () {
    await h.stop();
  });
  afterEach(async function () {
    await fleet.stopAll();
  });

  for (const n of [2, 3]) {
    it(`commits ${n} participants: every Prepare before any Commit, votes and acks in GetTransaction`, async function () {
      const ps = await Promise.all(Array.from({ length: n }, (_, i) => fake(`svc-${i}`)));
      const txnId = await begin(...ps);
      const answer = await h.client.commit(txnId, { waitForAcks: true });
      assert.equal(answer.outcome, 'COMMITTED');
      assert.equal(answer.state, 'COMMITTED');
      const lastPrepare = Math.max(
        ...ps.map((p) => p.callsOf('Prepare', txnId)[0]?.seq ?? Infinity),
      );
      const firstCommit = Math.min(
        ...ps.map((p) => p.callsOf('Commit', txnId)[0]?.seq ?? -Infinity),
      );
      assert.ok(lastPrepare < firstCommit, 'a Commit left before every Prepare was answered');
      ps.forEach((p) => assert.equal(p.callsOf('Commit', txnId).length, 1));
      const tx = await h.client.get(txnId);
      assert.equal(tx.state, 'COMMITTED');
      assert.equal(tx.outcome, 'OUTCOME_COMMITTED');
      assert.deepEqual(
        tx.participants.map((p) => [p.name, p.vote, p.acknowledged]),
        ps.map((p) => [p.name, 'VOTE_PREPARED', true]),
      );
      assert.ok(tx.decidedAt !== null && tx.finishedAt !== null);
    });
  }

  it('aborts on one ABORT vote: prepared participants get Abort, the reason names the voter', async function () {
    const a = await fake('accounts');
    const b = await fake('stock', { vote: 'ABORT', abortReason: 'out of stock' });
    const txnId = await begin(a, b);
    const answer = await h.client.commit(txnId, { waitForAcks: true });
    assert.equal(answer.outcome, 'ABORTED');
    assert.match(answer.reason, /participant 'stock' voted ABORT: out of stock/);
    await a.waitFor((c) => c.method === 'Abort' && c.txnId === txnId);
    assert.equal(a.callsOf('Commit', txnId).length, 0);
    assert.equal(b.callsOf('Abort', txnId).length, 0, 'the ABORT voter needs no phase 2');
    const tx = await h.client.get(txnId);
    assert.equal(tx.state, 'ABORTED');
    assert.equal(tx.participants.find((p) => p.name === 'stock')?.voteReason, 'out of stock');
  });

  it('sends no phase 2 to a READ_ONLY voter', async function () {
    const a = await fake('writer');
    const r = await fake('reader', { vote: 'READ_ONLY' });
    const txnId = await begin(a, r);
    assert.equal((await h.client.commit(txnId, { waitForAcks: true })).outcome, 'COMMITTED');
    assert.equal(a.callsOf('Commit', txnId).length, 1);
    assert.equal(r.callsOf('Commit', txnId).length + r.callsOf('Abort', txnId).length, 0);
    const reader = (await h.client.get(txnId)).participants.find((p) => p.name === 'reader');
    assert.equal(reader?.vote, 'VOTE_READ_ONLY');
    assert.equal(reader?.acknowledged, true, 'owed no phase 2: acknowledged, as the proto says');
  });

  it('reports READ_ONLY and ABORT voters of an aborted transaction as acknowledged', async function () {
    const writer = await fake('writer2');
    const reader = await fake('reader2', { vote: 'READ_ONLY' });
    const refuser = await fake('refuser', { vote: 'ABORT', abortReason: 'no' });
    const txnId = await begin(writer, reader, refuser);
    assert.equal((await h.client.commit(txnId, { waitForAcks: true })).outcome, 'ABORTED');
    const tx = await h.client.get(txnId);
    assert.equal(tx.state, 'ABORTED');
    assert.deepEqual(
      tx.participants.map((p) => [p.name, p.acknowledged]),
      [
        ['writer2', true],
        ['reader2', true],
        ['refuser', true],
      ],
    );
  });

  it('commits a single participant in one phase: no Prepare, one Commit(one_phase)', async function () {
    const only = await fake('only');
    const txnId = await begin(only);
    assert.equal((await h.client.commit(txnId)).outcome, 'COMMITTED');
    assert.equal(only.callsOf('Prepare', txnId).length, 0);
    assert.deepEqual(
      only.callsOf('Commit', txnId).map((c) => c.onePhase),
      [true],
    );
    const tx = await h.client.get(txnId);
    assert.equal(tx.onePhase, true);
    assert.equal(tx.state, 'COMMITTED');
  });

  it('reports a refused one-phase commit as ABORTED', async function () {
    const only = await fake('only', { reportOutcome: 'OUTCOME_ABORTED' });
    const txnId = await begin(only);
    const answer = await h.client.commit(txnId);
    assert.equal(answer.outcome, 'ABORTED');
    assert.match(answer.reason, /'only' refused the one-phase commit/);
  });

  it('aborts when a participant is unreachable at prepare, naming it', async function () {
    const a = await fake('alive');
    const dead = await fake('gone');
    await dead.stop();
    const txnId = await begin(a, dead);
    const answer = await h.client.commit(txnId);
    assert.equal(answer.outcome, 'ABORTED');
    assert.match(answer.reason, /participant 'gone' failed to prepare/);
    await a.waitFor((c) => c.method === 'Abort' && c.txnId === txnId);
  });

  it('aborts a participant that never votes at the prepare timeout, though it answers heartbeats', async function () {
    const mute = await fake('mute', { vote: 'hang' });
    const b = await fake('b');
    const txnId = await begin(mute, b);
    // The harness's prepare timeout is 3 s; heartbeats keep answering meanwhile.
    const answer = await h.client.commit(txnId);
    assert.equal(answer.outcome, 'ABORTED');
    assert.match(
      answer.reason,
      /participant 'mute' failed to prepare: .*no answer before the deadline/,
    );
    await mute.waitFor((c) => c.method === 'Abort' && c.txnId === txnId);
  });

  it('keeps retrying Commit: two failures then success is COMMITTED and acknowledged', async function () {
    const a = await fake('flaky', { failCommitTimes: 2 });
    const b = await fake('steady');
    const txnId = await begin(a, b);
    const answer = await h.client.commit(txnId, { waitForAcks: true });
    assert.equal(answer.outcome, 'COMMITTED');
    assert.equal(answer.state, 'COMMITTED');
    assert.equal(a.callsOf('Commit', txnId).length, 3);
    const tx = await h.client.get(txnId);
    assert.ok(tx.participants.every((p) => p.acknowledged));
  });

  it('answers COMMITTED once the decision is durable, before a down participant acknowledges', async function () {
    const a = await fake('late', { failCommitTimes: 1_000_000 });
    const b = await fake('steady');
    const txnId = await begin(a, b);
    const answer = await h.client.commit(txnId);
    assert.equal(answer.outcome, 'COMMITTED');
    const tx = await eventually(async () => {
      const t = await h.client.get(txnId);
      return (t.participants.find((p) => p.name === 'late')?.attempts ?? 0) >= 2 ? t : null;
    });
    assert.equal(tx.state, 'COMMITTING');
    const late = tx.participants.find((p) => p.name === 'late');
    assert.match(late?.lastError ?? '', /Commit failed \(UNAVAILABLE\)$/);
    assert.ok(late?.nextAttemptAt !== null);
    a.behaviour = {};
    await eventually(async () => (await h.client.get(txnId)).state === 'COMMITTED');
  });

  it('gives 20 concurrent Commit calls one decision and one answer', async function () {
    const a = await fake('a', { prepareDelayMs: 50 });
    const b = await fake('b');
    const txnId = await begin(a, b);
    const answers = await Promise.all(Array.from({ length: 20 }, () => h.client.commit(txnId)));
    assert.deepEqual(new Set(answers.map((x) => x.outcome)), new Set(['COMMITTED']));
    assert.equal(a.callsOf('Prepare', txnId).length, 1);
    await eventually(async () => b.callsOf('Commit', txnId).length === 1);
    const again = await h.client.commit(txnId, { waitForAcks: true });
    assert.equal(again.outcome, 'COMMITTED');
  });

  it('commits a transaction with no participants', async function () {
    const { txnId } = await h.client.begin();
    assert.equal((await h.client.commit(txnId)).outcome, 'COMMITTED');
  });

  it('accepts participants at Begin, saving Enlist calls', async function () {
    const a = await fake('a');
    const b = await fake('b');
    const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
    assert.equal((await h.client.commit(txnId, { waitForAcks: true })).outcome, 'COMMITTED');
    assert.equal(a.callsOf('Prepare', txnId).length, 1);
  });

  it('sends the transaction id to participants in twopc-txn-id metadata', async function () {
    const a = await fake('a');
    const b = await fake('b');
    const txnId = await begin(a, b);
    await h.client.commit(txnId);
    assert.deepEqual(a.callsOf('Prepare', txnId)[0]?.metadata.get('twopc-txn-id'), [txnId]);
  });

  it('refuses to resolve by hand a participant that already acknowledged, and records nothing', async function () {
    const a = await fleet.start('resolved-a');
    const b = await fleet.start('resolved-b');
    const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
    assert.equal((await h.client.commit(txnId, { waitForAcks: true })).state, 'COMMITTED');
    const operator = new TwopcOperator(h.app.address, { attempts: 1 });
    await expectStatus(
      operator.resolveParticipant(txnId, 'resolved-a', 'COMMITTED', 'by hand'),
      grpc.status.FAILED_PRECONDITION,
      /already acknowledged the outcome: there is nothing to resolve/,
    );
    assert.deepEqual((await operator.get(txnId)).operatorActions, []);
    operator.close();
  });
});
