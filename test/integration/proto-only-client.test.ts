import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { FakeParticipant } from '../support/fake-participant.ts';

// A client that knows nothing of this package but its proto files.
type Unary = (
  req: object,
  cb: (err: grpc.ServiceError | null, res?: Record<string, unknown>) => void,
) => void;

describe('a client written against proto/ alone (no SDK)', function () {
  let h: Harness;
  let client: grpc.Client & Record<string, Unary>;

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url));
    const protoDir = fileURLToPath(new URL('../../proto/', import.meta.url));
    const def = protoLoader.loadSync('twopc/v1/coordinator.proto', {
      includeDirs: [protoDir],
      keepCase: true,
      enums: String,
      longs: String,
      defaults: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      twopc: { v1: { Coordinator: grpc.ServiceClientConstructor } };
    };
    client = new pkg.twopc.v1.Coordinator(
      h.app.address,
      grpc.credentials.createInsecure(),
    ) as unknown as grpc.Client & Record<string, Unary>;
  });
  after(async function () {
    client.close();
    await h.stop();
  });

  function call(method: string, req: object): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) =>
      client[method]?.call(client, req, (err, res) => (err || !res ? reject(err) : resolve(res))),
    );
  }

  it('begins, enlists two participants, commits: Prepare on both before Commit on both; GetTransaction shows votes and acks', async function () {
    const a = await new FakeParticipant('a').start();
    const b = await new FakeParticipant('b').start();
    try {
      const { txn_id: txnId } = (await call('Begin', { timeout_ms: 30_000 })) as { txn_id: string };
      await call('Enlist', { txn_id: txnId, participant: { name: 'a', endpoint: a.endpoint } });
      await call('Enlist', { txn_id: txnId, participant: { name: 'b', endpoint: b.endpoint } });
      const answer = await call('Commit', { txn_id: txnId, wait_for_acks: true });
      assert.equal(answer.outcome, 'OUTCOME_COMMITTED');
      const prepares = [a, b].map((p) => p.callsOf('Prepare', txnId)[0]?.seq ?? Infinity);
      const commits = [a, b].map((p) => p.callsOf('Commit', txnId)[0]?.seq ?? -Infinity);
      assert.ok(Math.max(...prepares) < Math.min(...commits));
      const tx = (await call('GetTransaction', { txn_id: txnId })) as {
        participants: { name: string; vote: string; acknowledged: boolean }[];
      };
      assert.deepEqual(
        tx.participants.map((p) => [p.name, p.vote, p.acknowledged]),
        [
          ['a', 'VOTE_PREPARED', true],
          ['b', 'VOTE_PREPARED', true],
        ],
      );
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('sends Abort to every prepared participant after an ABORT vote', async function () {
    const a = await new FakeParticipant('a').start();
    const b = await new FakeParticipant('b').start();
    const no = await new FakeParticipant('no', { vote: 'ABORT', abortReason: 'nope' }).start();
    try {
      const { txn_id: txnId } = (await call('Begin', {})) as { txn_id: string };
      for (const p of [a, b, no]) {
        await call('Enlist', { txn_id: txnId, participant: p.ref });
      }
      const answer = await call('Commit', { txn_id: txnId, wait_for_acks: true });
      assert.equal(answer.outcome, 'OUTCOME_ABORTED');
      assert.equal(a.callsOf('Abort', txnId).length, 1);
      assert.equal(b.callsOf('Abort', txnId).length, 1);
      assert.equal(a.callsOf('Commit', txnId).length + b.callsOf('Commit', txnId).length, 0);
    } finally {
      await Promise.all([a.stop(), b.stop(), no.stop()]);
    }
  });
});
