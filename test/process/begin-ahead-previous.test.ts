import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { newClientTxnId } from 'twopc/internal/contract/client-txn-id';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { loadTwopcProto } from 'twopc/internal/wire/proto';
import { CoordinatorFleet, restartableEnv } from '../support/child.ts';
import { freshSchema, loggedState } from '../support/db.ts';
import { FakeParticipant } from '../support/fake-participant.ts';
import { checkOutPrevious } from '../support/rolling-upgrade.ts';

/** Version 7: an id the client made, as beginAhead() proposes. */
const CLIENT_MADE = /^[0-9a-f]{8}-[0-9a-f]{4}-7/;

describe('Begin ahead with coordinators of the previous release', function () {
  this.timeout(180_000);
  let previous: ReturnType<typeof checkOutPrevious>;
  let fleet: CoordinatorFleet;
  let schema: string;
  let p: FakeParticipant;

  before(async function () {
    previous = checkOutPrevious();
    schema = await freshSchema(import.meta.url);
    fleet = new CoordinatorFleet([
      await restartableEnv(schema, 'ahead-old'),
      await restartableEnv(schema, 'ahead-new'),
    ]);
    p = await new FakeParticipant('p').start();
  });
  after(async function () {
    fleet?.killAll();
    await p?.stop();
    previous?.remove();
  });

  it('falls back to waiting for Begin: the previous release answers ids of its own', async function () {
    await fleet.start(0, 60_000, previous.dir);
    const stub = new (loadTwopcProto().twopc.v1.Coordinator)(
      fleet.addresses[0]!,
      grpc.credentials.createInsecure(),
    );
    const client = new TwopcClient(fleet.addresses[0]!, { attempts: 3 });
    try {
      const proposed = newClientTxnId();
      const answered = await new Promise<string>((resolve, reject) =>
        stub.begin({ txnId: proposed }, (err, res) =>
          err !== null ? reject(err) : resolve(res?.txnId ?? ''),
        ),
      );
      assert.notEqual(answered, proposed);
      for (let i = 0; i < 3; i++) {
        const { txnId } = await client.beginAhead({ participants: [p.ref] });
        // Only an id the log holds ever goes out.
        assert.doesNotMatch(txnId, CLIENT_MADE);
        assert.equal(await loggedState(schema, txnId), 'ACTIVE');
        assert.equal((await client.commit(txnId)).outcome, 'COMMITTED');
      }
    } finally {
      stub.close();
      client.close();
    }
  });

  it('commits every transaction begun ahead across a mixed fleet', async function () {
    await fleet.start(1, 60_000); // this release, beside the previous one
    const client = new TwopcClient(fleet.addresses, { attempts: 3, callTimeoutMs: 10_000 });
    try {
      let ahead = 0;
      for (let i = 0; i < 30; i++) {
        const { txnId, begun } = await client.beginAhead({ participants: [p.ref] });
        ahead += CLIENT_MADE.test(txnId) ? 1 : 0;
        // Commit may reach the previous release before Begin's row lands
        // through this one: the answer is still the log's.
        assert.equal((await client.commit(txnId)).outcome, 'COMMITTED', txnId);
        assert.equal((await begun).txnId, txnId);
        assert.equal(await loggedState(schema, txnId), 'COMMITTED');
      }
      // Both kinds happened: ids made here (after this release answered
      // one) and the coordinator's own (after the previous one did).
      assert.ok(ahead > 0 && ahead < 30, `${ahead} of 30 begun ahead`);
    } finally {
      client.close();
    }
  });
});
