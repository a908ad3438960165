import assert from 'node:assert/strict';
import { FakeFleet } from '../support/fake-participant.ts';
import type { FakeBehaviour, FakeParticipant } from '../support/fake-participant.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';

describe('batched participant channel (twopc.v1.BatchedParticipant, negotiated)', function () {
  let h: Harness;
  const fleet = new FakeFleet();

  const batched = (name: string, behaviour: FakeBehaviour = {}): Promise<FakeParticipant> =>
    fleet.start(name, behaviour, undefined, true);

  /** Commits transactions until one reaches every participant on the stream (the opening answered). */
  async function untilBatched(...ps: FakeParticipant[]): Promise<void> {
    await eventually(
      async () => {
        const { txnId } = await h.client.begin({ participants: ps.map((p) => p.ref) });
        await h.client.commit(txnId, { waitForAcks: true });
        return ps.every((p) => p.calls.find((c) => c.txnId === txnId)?.transport === 'batched');
      },
      10_000,
      'every participant called on the stream',
    );
  }

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url), {
      prepareTimeoutMs: 1_000,
      heartbeatIntervalMs: 100,
    });
  });
  after(async function () {
    await h.stop();
  });
  afterEach(async function () {
    await fleet.stopAll();
  });

  it("uses the stream from the first call: the opening is awaited within the call's deadline", async function () {
    const [a, b] = [await batched('first-a'), await batched('first-b')];
    const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
    assert.equal((await h.client.commit(txnId, { waitForAcks: true })).outcome, 'COMMITTED');
    for (const p of [a, b]) {
      assert.deepEqual(
        p.calls.filter((c) => c.txnId === txnId).map((c) => [c.method, c.transport]),
        [
          ['Prepare', 'batched'],
          ['Commit', 'batched'],
        ],
      );
    }
  });

  it('carries the phase messages of concurrent transactions in batches, each answered on its own', async function () {
    const [a, b] = [await batched('a'), await batched('b')];
    await untilBatched(a, b);
    const from = a.calls.length;
    const ids = await Promise.all(
      Array.from({ length: 48 }, async () => {
        const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
        assert.equal((await h.client.commit(txnId, { waitForAcks: true })).outcome, 'COMMITTED');
        return txnId;
      }),
    );
    for (const txnId of ids) {
      for (const p of [a, b]) {
        const [prepare, commit, ...more] = p.calls.filter((c) => c.txnId === txnId);
        assert.equal(prepare?.method, 'Prepare');
        assert.equal(commit?.method, 'Commit');
        assert.equal(more.length, 0, 'a message was sent twice');
        assert.equal(prepare.transport, 'batched');
        assert.equal(commit.transport, 'batched');
      }
    }
    const sent = a.calls.slice(from);
    assert.ok(
      sent.some((c) => c.batchSize > 1),
      `no message carried more than one call (${sent.length} calls)`,
    );
  });

  it('falls back to unary calls for a participant that does not offer it, in the same transaction', async function () {
    const [a, plain] = [await batched('a'), await fleet.start('plain')];
    await untilBatched(a);
    for (let i = 0; i < 3; i++) {
      const { txnId } = await h.client.begin({ participants: [a.ref, plain.ref] });
      assert.equal((await h.client.commit(txnId, { waitForAcks: true })).outcome, 'COMMITTED');
      assert.equal(a.callsOf('Commit', txnId)[0]?.transport, 'batched');
      assert.deepEqual(
        plain.calls.filter((c) => c.txnId === txnId).map((c) => [c.method, c.transport]),
        [
          ['Prepare', 'unary'],
          ['Commit', 'unary'],
        ],
      );
    }
  });

  it('keeps the prepare timeout per call: a silent voter aborts the transaction, the others get Abort on the stream', async function () {
    const [a, silent] = [await batched('a'), await batched('silent')];
    await untilBatched(a, silent);
    silent.behaviour = { vote: 'hang' };
    const { txnId } = await h.client.begin({ participants: [a.ref, silent.ref] });
    const answer = await h.client.commit(txnId);
    assert.equal(answer.outcome, 'ABORTED');
    assert.match(answer.reason ?? '', /silent.*no answer before the deadline/);
    await a.waitFor((c) => c.method === 'Abort' && c.txnId === txnId);
    assert.equal(a.callsOf('Abort', txnId)[0]?.transport, 'batched');
  });

  it('keeps votes, retries with back-off and heuristic reports per call', async function () {
    const [a, b] = [await batched('a'), await batched('b')];
    await untilBatched(a, b);
    b.behaviour = { vote: 'ABORT', abortReason: 'out of stock' };
    const { txnId: refused } = await h.client.begin({ participants: [a.ref, b.ref] });
    const no = await h.client.commit(refused);
    assert.equal(no.outcome, 'ABORTED');
    assert.match(no.reason ?? '', /out of stock/);
    b.behaviour = { failCommitTimes: 3 };
    const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
    assert.equal((await h.client.commit(txnId, { waitForAcks: true })).state, 'COMMITTED');
    assert.deepEqual(
      b.callsOf('Commit', txnId).map((c) => c.transport),
      ['batched', 'batched', 'batched', 'batched'],
    );
    // The failed attempts stay visible, as for unary calls.
    const tx = await h.client.get(txnId);
    assert.equal(tx.participants.find((p) => p.name === 'b')?.attempts, 3);
  });

  it('fails the calls in flight when the participant dies, and opens a new stream after it restarts', async function () {
    const [a, b] = [await batched('a'), await batched('b')];
    await untilBatched(a, b);
    b.behaviour = { vote: 'hang' };
    const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
    const pending = h.client.commit(txnId);
    await b.waitFor((c) => c.method === 'Prepare' && c.txnId === txnId);
    await b.stop();
    const answer = await pending;
    assert.equal(answer.outcome, 'ABORTED');
    assert.doesNotMatch(answer.reason ?? '', /no answer before the deadline/);
    b.behaviour = {};
    await b.start(undefined, true);
    await untilBatched(a, b);
  });
});
