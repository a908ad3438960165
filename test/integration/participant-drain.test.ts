import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { txnMetadata } from 'twopc/internal/twopc-client';
import { TwopcParticipant } from 'twopc/internal/twopc-participant';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';

/** A business service of the participant, messages as JSON (any codec does). */
const json = {
  serialize: (v: object): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): object => JSON.parse(b.toString()) as object,
};
const WORK: grpc.ServiceDefinition = {
  Take: {
    path: '/test.Stock/Take',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};
type WorkClient = grpc.Client & {
  Take(req: object, md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void): void;
};

// TwopcParticipant.drain(): what a participant asked to stop takes and what
// it finishes (the README participant's SIGTERM: test/process/participant-drain).
describe('a TypeScript participant draining (real gRPC)', function () {
  this.timeout(30_000);
  let h: Harness;
  let server: grpc.Server;
  let participant: TwopcParticipant;
  let work: WorkClient;
  const handled: string[] = [];

  const take = (txnId: string): Promise<void> =>
    new Promise((resolve, reject) =>
      work.Take({}, txnMetadata(txnId), (e) => (e === null ? resolve() : reject(e))),
    );

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url));
    server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    participant = new TwopcParticipant({
      name: 'stock',
      endpoint: `127.0.0.1:${port}`,
      coordinator: h.app.address,
      coordinatorOptions: { attempts: 1 },
      checkEveryMs: 0,
      handlers: {
        prepare: async (txnId) => {
          handled.push(`prepare ${txnId}`);
          return { vote: 'PREPARED' };
        },
        commit: async (txnId) => void handled.push(`commit ${txnId}`),
        abort: async (txnId, reason) => void handled.push(`abort ${txnId}: ${reason}`),
      },
    });
    participant.addTo(server);
    server.addService(WORK, { Take: participant.unary(async () => ({})) });
    const Client = grpc.makeGenericClientConstructor(WORK, 'Stock');
    work = new Client(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
    ) as unknown as WorkClient;
  });
  after(async function () {
    work.close();
    participant.close();
    server.forceShutdown();
    await h.stop();
  });

  it('refuses new business calls, finishes work joined before, rolls back what never prepared', async function () {
    const joined = await h.client.begin();
    const forgotten = await h.client.begin();
    const fresh = await h.client.begin();
    await take(joined.txnId);
    await take(forgotten.txnId);

    const drained = participant.drain(1_500);
    await assert.rejects(take(fresh.txnId), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.UNAVAILABLE);
      assert.match(err.details, /participant 'stock' is stopping: it takes no new work/);
      return true;
    });
    assert.equal((await h.client.get(fresh.txnId)).participants.length, 0, 'not enlisted');

    const answer = await h.client.commit(joined.txnId, { waitForAcks: true });
    assert.equal(answer.outcome, 'COMMITTED', 'joined before the stop: prepared and told');
    assert.deepEqual(handled.slice(0, 2), [`prepare ${joined.txnId}`, `commit ${joined.txnId}`]);

    // The client of `forgotten` never commits: at the timeout it is let go.
    assert.deepEqual(await drained, { joined: 1, prepared: 0 });
    assert.ok(
      handled.some((l) => l.startsWith(`abort ${forgotten.txnId}: participant 'stock' stopped`)),
    );
    const late = await h.client.commit(forgotten.txnId);
    assert.equal(late.outcome, 'ABORTED', 'a late Prepare is refused: rolled back already');
    assert.ok(!handled.includes(`prepare ${forgotten.txnId}`));
  });
});
