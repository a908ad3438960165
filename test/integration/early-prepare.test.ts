import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { TwopcParticipant } from 'twopc/internal/twopc-participant';
import type { ParticipantHandlers, VoteResult } from 'twopc/internal/twopc-participant';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema, sql } from '../support/db.ts';
import { eventually, expectStatus } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import { memorySpans, spansOf } from '../support/tracing.ts';

/** A participant application that records what its handlers did. */
class Recorder implements ParticipantHandlers {
  readonly log: string[] = [];
  async prepare(txnId: string): Promise<VoteResult> {
    this.log.push(`prepare ${txnId}`);
    return { vote: 'PREPARED' };
  }
  async commit(txnId: string): Promise<void> {
    this.log.push(`commit ${txnId}`);
  }
  async abort(txnId: string): Promise<void> {
    this.log.push(`abort ${txnId}`);
  }
}

describe('Prepare sent with the commit claim (early prepare)', function () {
  let schema: string;
  let h: Harness;
  let other: Harness;
  const fleet = new FakeFleet();
  const servers: grpc.Server[] = [];
  const helpers: TwopcParticipant[] = [];

  /** A participant built with the SDK helper, checking its in-doubt branches every 100 ms. */
  async function helper(
    name: string,
  ): Promise<{ ref: { name: string; endpoint: string }; app: Recorder }> {
    const server = new grpc.Server();
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? rej(e) : res(p),
      ),
    );
    const app = new Recorder();
    const participant = new TwopcParticipant({
      name,
      endpoint: `127.0.0.1:${port}`,
      coordinator: h.app.address,
      handlers: app,
      checkAfterMs: 300,
      checkEveryMs: 100,
    });
    participant.addTo(server);
    servers.push(server);
    helpers.push(participant);
    return { ref: { name, endpoint: participant.endpoint }, app };
  }

  before(async function () {
    memorySpans();
    schema = await migratedSchema(import.meta.url);
    h = await startCoordinator(schema, { sweepIntervalMs: 50 });
    other = await startCoordinator(schema);
  });
  after(async function () {
    helpers.forEach((p) => p.close());
    servers.forEach((s) => s.forceShutdown());
    await fleet.stopAll();
    await other.stop();
    await h.stop();
  });

  it('sends Prepare with the claim to the participants named at Begin; one enlisted since, here or through another coordinator, gets it after a forced write', async function () {
    const [a, d] = [await fleet.start('a'), await fleet.start('d')];
    const [b, c] = [await fleet.start('b'), await fleet.start('c')];
    const { txnId } = await h.client.begin({ participants: [a.ref, d.ref] });
    await h.client.enlist(txnId, b.ref);
    await other.client.enlist(txnId, c.ref);
    assert.equal((await h.client.commit(txnId, { waitForAcks: true })).outcome, 'COMMITTED');
    for (const p of [a, b, c, d]) {
      assert.equal(p.callsOf('Prepare', txnId).length, 1, `${p.name}: one Prepare`);
      assert.equal(p.callsOf('Commit', txnId).length, 1, `${p.name}: one Commit`);
    }
    const traceId = (await h.client.get(txnId)).traceId;
    const early = (name: string): unknown =>
      spansOf(traceId).find(
        (s) => s.name === 'twopc.prepare' && s.attributes['twopc.participant.name'] === name,
      )?.attributes['twopc.early'];
    assert.equal(early('a'), true);
    assert.equal(early('d'), true);
    assert.equal(
      early('b'),
      undefined,
      'b enlisted (unforced): its Prepare follows the forced claim',
    );
    assert.equal(early('c'), undefined, 'c was not known here: its Prepare follows the claim');
  });

  it('a Commit that loses to a lease expiry: the early Prepare is refused by the participant, which already heard the Abort', async function () {
    const [x, y] = [await helper('lease-x'), await helper('lease-y')];
    const { txnId } = await h.client.begin({ timeoutMs: 100, participants: [x.ref, y.ref] });
    await eventually(
      async () => x.app.log.includes(`abort ${txnId}`) && y.app.log.includes(`abort ${txnId}`),
    );
    const answer = await h.client.commit(txnId);
    assert.equal(answer.outcome, 'ABORTED');
    for (const p of [x, y]) {
      assert.deepEqual(p.app.log, [`abort ${txnId}`], 'the late Prepare reached the application');
    }
  });

  it('a transaction the log lost: the prepared branches ask GetTransaction, hear NOT_FOUND and roll back', async function () {
    const [x, y] = [await helper('lost-x'), await helper('lost-y')];
    const { txnId } = await h.client.begin({ participants: [x.ref, y.ref] });
    // As a crash of the log's PostgreSQL loses an unforced Begin.
    await sql(schema, 'DELETE FROM twopc_participants WHERE txn_id = $1', [txnId]);
    await sql(schema, 'DELETE FROM twopc_transactions WHERE txn_id = $1', [txnId]);
    await expectStatus(h.client.commit(txnId), grpc.status.NOT_FOUND);
    await eventually(async () =>
      [x, y].every((p) => p.app.log.join() === [`prepare ${txnId}`, `abort ${txnId}`].join()),
    );
  });
});
