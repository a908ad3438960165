import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { StoreRefusedDataError } from 'twopc/internal/contract/errors';
import type { TxId } from '../../src/core/tx-record.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { loggedState, migratedSchema } from '../support/db.ts';
import { eventually, expectStatus } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import { SecureRig } from '../support/secure-rig.ts';

const NUL = 'ok\u0000';
const LONE = 'ok\uD800';

describe('Text the log cannot hold (DESIGN §3 rule 14)', function () {
  let schema: string;
  let h: Harness;
  const fleet = new FakeFleet();

  before(async function () {
    schema = await migratedSchema(import.meta.url);
    h = await startCoordinator(schema);
  });
  after(async function () {
    await h.stop();
  });
  afterEach(async function () {
    await fleet.stopAll();
  });

  describe('client-given text is INVALID_ARGUMENT naming the field, before any write', function () {
    // A lone surrogate cannot cross gRPC as one (protobuf strings are UTF-8;
    // the unit tests and the console's JSON cover it): U+0000 can.
    for (const [what, bad] of [['U+0000', NUL]] as const) {
      it(`Begin: a label value holding ${what}`, async function () {
        await expectStatus(
          h.client.begin({ labels: { k: bad } }),
          grpc.status.INVALID_ARGUMENT,
          /labels\[k\]: holds .* which the log cannot store/,
        );
      });
      it(`Begin: a label key, a participant name and endpoint holding ${what}`, async function () {
        await expectStatus(
          h.client.begin({ labels: { [bad]: 'v' } }),
          grpc.status.INVALID_ARGUMENT,
          /labels/,
        );
        await expectStatus(
          h.client.begin({ participants: [{ name: bad, endpoint: '127.0.0.1:1' }] }),
          grpc.status.INVALID_ARGUMENT,
          /participants\[0\]\.name/,
        );
        await expectStatus(
          h.client.begin({ participants: [{ name: 'a', endpoint: `127.0.0.1:1${bad}` }] }),
          grpc.status.INVALID_ARGUMENT,
          /participants\[0\]\.endpoint/,
        );
      });
      it(`Enlist: a name and an endpoint holding ${what}`, async function () {
        const { txnId } = await h.client.begin();
        await expectStatus(
          h.client.enlist(txnId, { name: bad, endpoint: '127.0.0.1:1' }),
          grpc.status.INVALID_ARGUMENT,
          /participant\.name/,
        );
        await expectStatus(
          h.client.enlist(txnId, { name: 'a', endpoint: bad }),
          grpc.status.INVALID_ARGUMENT,
          /participant\.endpoint/,
        );
        assert.equal((await h.client.get(txnId)).participants.length, 0);
      });
      it(`Abort: a reason holding ${what} is refused at once; the transaction stays ACTIVE and aborts with a good reason`, async function () {
        const { txnId } = await h.client.begin();
        await expectStatus(
          h.client.abort(txnId, bad),
          grpc.status.INVALID_ARGUMENT,
          /reason: holds .* cannot store/,
        );
        assert.equal(await loggedState(schema, txnId), 'ACTIVE');
        assert.equal((await h.client.abort(txnId, 'fine')).outcome, 'ABORTED');
      });
      it(`ListTransactions: a label filter holding ${what}`, async function () {
        await expectStatus(
          h.client.list({ labels: { k: bad } }),
          grpc.status.INVALID_ARGUMENT,
          /labels\[k\]/,
        );
      });
    }
  });

  describe('participant-given text is stored escaped and never blocks a decision', function () {
    it('a PREPARED vote whose reason holds U+0000 commits; the reason is stored escaped', async function () {
      const a = await fleet.start('a', { prepareReason: NUL });
      const b = await fleet.start('b', { prepareReason: LONE });
      const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
      assert.equal((await h.client.commit(txnId)).outcome, 'COMMITTED');
      const tx = await h.client.get(txnId);
      assert.equal(tx.participants.find((p) => p.name === 'a')?.voteReason, 'ok\\u0000');
      // A lone surrogate cannot cross the wire as one (protobuf strings are
      // UTF-8): what arrives is replacement characters, stored as they are.
      assert.match(String(tx.participants.find((p) => p.name === 'b')?.voteReason), /^ok\uFFFD+$/);
    });
    it('an ABORT vote whose reason holds U+0000 aborts at once, saying so', async function () {
      const a = await fleet.start('a', { vote: 'ABORT', abortReason: `no${NUL}` });
      const b = await fleet.start('b');
      const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
      const answer = await h.client.commit(txnId);
      assert.equal(answer.outcome, 'ABORTED');
      assert.match(answer.reason, /voted ABORT: nook\\u0000/);
      await eventually(async () => (await loggedState(schema, txnId)) === 'ABORTED');
    });
    it('a one-phase refusal whose reason holds U+0000 is ABORTED with the reason escaped', async function () {
      const a = await fleet.start('a', { reportOutcome: 'OUTCOME_ABORTED' });
      a.behaviour.abortReason = NUL;
      const { txnId } = await h.client.begin({ participants: [a.ref] });
      const answer = await h.client.commit(txnId);
      assert.equal(answer.outcome, 'ABORTED');
      assert.equal(await loggedState(schema, txnId), 'ABORTED');
    });
    it('a phase-2 failure whose words hold U+0000 is recorded as its kind only, and delivery goes on', async function () {
      const a = await fleet.start('a', { failCommitTimes: 2, failureDetails: `down${NUL}` });
      const b = await fleet.start('b');
      const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
      assert.equal((await h.client.commit(txnId)).outcome, 'COMMITTED');
      await eventually(async () => (await loggedState(schema, txnId)) === 'COMMITTED');
      const tx = await h.client.get(txnId);
      // Its own words never reach what a client reads, only their kind.
      const lastError = String(tx.participants.find((p) => p.name === 'a')?.lastError);
      assert.match(lastError, /Commit failed \(UNAVAILABLE\)$/);
      assert.doesNotMatch(lastError, /down/);
    });
  });

  describe('a write the log refuses for its data fails only itself', function () {
    it('in a batch of Begins, the item with unstorable data fails (TWOPC_STORE_REFUSED_DATA), the others land', async function () {
      const store = h.app.coordinator.store;
      const begin = (i: number, labels: Record<string, string>): Promise<unknown> =>
        store.begin({
          txnId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` as TxId,
          leaseMs: 60_000,
          labels,
          participants: [],
          ownerId: h.app.coordinator.id,
          traceContext: null,
          tenant: 'default',
          principal: null,
        });
      // Submitted together: they share one statement until the bad one fails it.
      const results = await Promise.allSettled([
        begin(1, { k: 'a' }),
        begin(2, { k: NUL }),
        begin(3, { k: 'c' }),
        begin(4, { k: 'd' }),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
      );
      const failed = results[1];
      assert.ok(failed?.status === 'rejected' && failed.reason instanceof StoreRefusedDataError);
      assert.equal(failed.reason.sqlstate.slice(0, 2), '22');
    });
  });

  describe('operator and identity text, through the secured coordinator', function () {
    let rig: SecureRig;
    let secured: Harness;
    before(async function () {
      rig = await SecureRig.create({});
      secured = await startCoordinator(schema, { ...rig.config(), coordinatorName: 'secured-ops' });
    });
    after(async function () {
      await secured.stop();
      rig.remove();
    });

    it('Operator.Abort: a reason holding U+0000 is INVALID_ARGUMENT; the transaction stays ACTIVE', async function () {
      const shop = rig.client(secured.app.address, 'shop');
      const ops = rig.operator(secured.app.address, 'ops');
      const { txnId } = await shop.begin();
      await expectStatus(
        ops.abort(txnId, NUL),
        grpc.status.INVALID_ARGUMENT,
        /reason: holds U\+0000/,
      );
      assert.equal(await loggedState(schema, txnId), 'ACTIVE');
      shop.close();
      ops.close();
    });

    it('Operator.ResolveParticipant: a note holding U+0000 is INVALID_ARGUMENT', async function () {
      const ops = rig.operator(secured.app.address, 'ops');
      const shop = rig.client(secured.app.address, 'shop');
      const { txnId } = await shop.begin();
      await expectStatus(
        ops.resolveParticipant(txnId, 'bank-a', 'ABORTED', `by hand${NUL}`),
        grpc.status.INVALID_ARGUMENT,
        /note: holds U\+0000/,
      );
      shop.close();
      ops.close();
    });

    it('a token whose subject holds U+0000 is INVALID_ARGUMENT naming the claim, before any work', async function () {
      const token = await rig.sign(`alice${NUL}`, { roles: ['operator'] });
      const ops = rig.operator(secured.app.address, { tls: { caFile: rig.ca.caFile }, token });
      await expectStatus(
        ops.list({}),
        grpc.status.INVALID_ARGUMENT,
        /token claim sub: holds U\+0000/,
      );
      ops.close();
    });
  });

  describe('one tenant flooding Begins with unstorable labels', function () {
    it('costs the other tenant nothing: every one of its Begins and Commits succeeds', async function () {
      this.timeout(60_000);
      const rig = await SecureRig.create({});
      const secured = await startCoordinator(schema, {
        ...rig.config(),
        coordinatorName: 'secured',
      });
      const flooder = rig.client(secured.app.address, 'shop');
      const rival = rig.client(secured.app.address, 'rival');
      try {
        let stop = false;
        let refused = 0;
        const worker = async (): Promise<void> => {
          while (!stop) {
            await flooder.begin({ labels: { k: NUL } }).catch((err: grpc.ServiceError) => {
              assert.equal(err.code, grpc.status.INVALID_ARGUMENT, err.details);
              refused++;
            });
          }
        };
        const flood = Promise.all(Array.from({ length: 16 }, worker));
        const errors: string[] = [];
        for (let i = 0; i < 200; i++) {
          await rival
            .begin({ labels: { k: 'fine' } })
            .then(({ txnId }) => rival.commit(txnId))
            .catch((err: grpc.ServiceError) => errors.push(err.details));
        }
        stop = true;
        await flood;
        assert.deepEqual(errors, []);
        assert.ok(refused > 0, 'the flood ran');
      } finally {
        flooder.close();
        rival.close();
        await secured.stop();
        rig.remove();
      }
    });
  });
});
