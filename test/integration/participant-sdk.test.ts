import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { TwopcParticipant } from 'twopc/internal/twopc-participant';
import type { ParticipantHandlers, VoteResult } from 'twopc/internal/twopc-participant';
import { txnMetadata } from 'twopc/internal/twopc-client';
import { loadTwopcProto } from 'twopc/internal/wire/proto';
import type { ExchangeResponse__Output } from 'twopc/internal/wire/generated/twopc/v1/ExchangeResponse';
import type { PhaseAnswer__Output } from 'twopc/internal/wire/generated/twopc/v1/PhaseAnswer';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';

/** A participant service built with the SDK: counts what its handlers did. */
class Counter implements ParticipantHandlers {
  readonly log: string[] = [];
  vote: VoteResult = { vote: 'PREPARED' };
  async prepare(txnId: string): Promise<VoteResult> {
    this.log.push(`prepare ${txnId}`);
    return this.vote;
  }
  async commit(txnId: string): Promise<void> {
    this.log.push(`commit ${txnId}`);
  }
  async abort(txnId: string): Promise<void> {
    this.log.push(`abort ${txnId}`);
  }
}

interface Service {
  participant: TwopcParticipant;
  handlers: Counter;
  server: grpc.Server;
  stub: InstanceType<ReturnType<typeof loadTwopcProto>['twopc']['v1']['Participant']>;
}

describe('participant SDK (TwopcParticipant)', function () {
  let h: Harness;
  const services: Service[] = [];

  async function service(
    name: string,
    options: { checkAfterMs?: number; checkEveryMs?: number } = {},
  ): Promise<Service> {
    const server = new grpc.Server();
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? rej(e) : res(p),
      ),
    );
    const handlers = new Counter();
    const participant = new TwopcParticipant({
      name,
      endpoint: `127.0.0.1:${port}`,
      coordinator: h.app.address,
      handlers,
      ...options,
    });
    participant.addTo(server);
    const Ctor = loadTwopcProto().twopc.v1.Participant;
    const s = {
      participant,
      handlers,
      server,
      stub: new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()),
    };
    services.push(s);
    return s;
  }

  function call<T>(fn: (cb: (err: grpc.ServiceError | null, res?: T) => void) => void): Promise<T> {
    return new Promise((resolve, reject) =>
      fn((err, res) => (err || res === undefined ? reject(err) : resolve(res))),
    );
  }

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url));
  });
  after(async function () {
    for (const s of services) {
      s.stub.close();
      s.participant.close();
      s.server.forceShutdown();
    }
    await h.stop();
  });

  it('self-enlists once when a business call carries twopc-txn-id, then commits', async function () {
    const a = await service('a');
    const b = await service('b');
    const { txnId } = await h.client.begin();
    assert.equal(await a.participant.join(txnMetadata(txnId)), txnId);
    assert.equal(await a.participant.join(txnMetadata(txnId)), txnId);
    await b.participant.join(txnMetadata(txnId));
    assert.equal(await a.participant.join(new grpc.Metadata()), null);
    assert.equal((await h.client.get(txnId)).participants.length, 2);
    assert.equal((await h.client.commit(txnId, { waitForAcks: true })).outcome, 'COMMITTED');
    assert.deepEqual(a.handlers.log, [`prepare ${txnId}`, `commit ${txnId}`]);
  });

  it('dedupes repeated phase-2 calls and reports the branch outcome', async function () {
    const a = await service('dedupe');
    const { txnId } = await h.client.begin();
    await a.participant.join(txnMetadata(txnId));
    await call((cb) => a.stub.prepare({ txnId, participantName: 'dedupe' }, cb));
    const acks = await Promise.all(
      Array.from({ length: 5 }, () =>
        call<{ outcome: string }>((cb) => a.stub.commit({ txnId, participantName: 'dedupe' }, cb)),
      ),
    );
    assert.deepEqual(new Set(acks.map((x) => x.outcome)), new Set(['OUTCOME_COMMITTED']));
    assert.equal(a.handlers.log.filter((l) => l.startsWith('commit')).length, 1);
    const late = await call<{ outcome: string }>((cb) =>
      a.stub.abort({ txnId, participantName: 'dedupe', reason: 'late' }, cb),
    );
    assert.equal(
      late.outcome,
      'OUTCOME_COMMITTED',
      'an abort after commit reports the real outcome',
    );
  });

  it('acknowledges an Abort before Prepare and refuses the late Prepare (suspension)', async function () {
    const a = await service('suspended');
    const txnId = '22222222-2222-4222-8222-222222222222';
    const ack = await call<{ outcome: string }>((cb) =>
      a.stub.abort({ txnId, participantName: 'suspended', reason: 'timeout' }, cb),
    );
    assert.equal(ack.outcome, 'OUTCOME_ABORTED');
    const vote = await call<{ vote: string; reason: string }>((cb) =>
      a.stub.prepare({ txnId, participantName: 'suspended' }, cb),
    );
    assert.equal(vote.vote, 'VOTE_ABORT');
    assert.match(vote.reason, /aborted before prepare/);
    assert.ok(
      !a.handlers.log.some((l) => l.startsWith('prepare')),
      'the late Prepare reached the application',
    );
  });

  it('serves the batched channel: an opening, per-call answers by id, suspension, idempotent phase 2, bad ids', async function () {
    const a = await service('streamed');
    const Ctor = loadTwopcProto().twopc.v1.BatchedParticipant;
    const stub = new Ctor(a.participant.endpoint, grpc.credentials.createInsecure());
    const stream = stub.exchange();
    stream.on('error', () => undefined); // its status is asserted below
    const answers: PhaseAnswer__Output[] = [];
    const received = new Set<number>();
    let openings = 0;
    const arrived = new Promise<void>((resolve) =>
      stream.on('data', (res: ExchangeResponse__Output) => {
        openings += res.answers.length === 0 ? 1 : 0;
        for (const x of res.answers) {
          answers.push(x);
          received.add(x.id);
        }
        if (received.size === 6) {
          resolve();
        }
      }),
    );
    const suspended = '33333333-3333-4333-8333-333333333333';
    const { txnId } = await h.client.begin();
    await a.participant.join(txnMetadata(txnId));
    const p = { participantName: 'streamed' };
    stream.write({ calls: [] });
    stream.write({
      calls: [
        { id: 1, abort: { ...p, txnId: suspended, reason: 'timeout' } },
        { id: 2, prepare: { ...p, txnId } },
        { id: 3, prepare: { ...p, txnId: 'not-an-id' } },
      ],
    });
    await eventually(async () => received.has(1) && received.has(2));
    stream.write({
      calls: [
        { id: 4, prepare: { ...p, txnId: suspended } },
        { id: 5, commit: { ...p, txnId } },
        { id: 6, commit: { ...p, txnId } },
      ],
    });
    await arrived;
    const by = (id: number): PhaseAnswer__Output | undefined => answers.find((x) => x.id === id);
    assert.equal(openings, 1);
    assert.equal(by(1)?.abort?.outcome, 'OUTCOME_ABORTED');
    assert.equal(by(2)?.prepare?.vote, 'VOTE_PREPARED');
    assert.equal(by(3)?.error?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(by(3)?.error?.message ?? '', /not a transaction id/);
    assert.equal(by(4)?.prepare?.vote, 'VOTE_ABORT', 'the late Prepare was not refused');
    assert.equal(by(5)?.commit?.outcome, 'OUTCOME_COMMITTED');
    assert.equal(by(6)?.commit?.outcome, 'OUTCOME_COMMITTED');
    assert.deepEqual(a.handlers.log, [
      `abort ${suspended}`, // an empty rollback, remembered
      `prepare ${txnId}`,
      `commit ${txnId}`,
    ]);
    const ended = new Promise((resolve) => stream.on('status', resolve));
    stream.end();
    assert.equal(((await ended) as grpc.StatusObject).code, grpc.status.OK);
    stub.close();
  });

  it('acknowledges Commit of a transaction it does not remember, through the idempotent handler', async function () {
    const a = await service('forgetful');
    const txnId = '33333333-3333-4333-8333-333333333333';
    const ack = await call<{ outcome: string }>((cb) =>
      a.stub.commit({ txnId, participantName: 'forgetful' }, cb),
    );
    assert.equal(ack.outcome, 'OUTCOME_COMMITTED');
    assert.deepEqual(a.handlers.log, [`commit ${txnId}`]);
  });

  it('turns a throwing prepare handler into an ABORT vote and rolls back', async function () {
    const a = await service('thrower');
    const b = await service('other');
    a.handlers.prepare = async () => {
      throw new Error('disk full');
    };
    const { txnId } = await h.client.begin();
    await a.participant.join(txnMetadata(txnId));
    await b.participant.join(txnMetadata(txnId));
    const answer = await h.client.commit(txnId);
    assert.equal(answer.outcome, 'ABORTED');
    assert.match(answer.reason, /participant 'thrower' voted ABORT: prepare failed: disk full/);
    await eventually(async () => b.handlers.log.includes(`abort ${txnId}`));
  });

  it('refuses to join a transaction that already ended here', async function () {
    const a = await service('ended');
    const { txnId } = await h.client.begin();
    await a.participant.join(txnMetadata(txnId));
    await h.client.abort(txnId);
    await eventually(async () => a.handlers.log.includes(`abort ${txnId}`));
    await assert.rejects(a.participant.join(txnMetadata(txnId)), /already ABORTED/);
  });

  it('asks the coordinator about a branch it was never told the outcome of, and finishes it as the log says', async function () {
    const a = await service('forgotten', { checkAfterMs: 200, checkEveryMs: 50 });
    const b = await service('reachable');
    const { txnId } = await h.client.begin();
    await b.participant.join(txnMetadata(txnId));
    // The coordinator knows this participant at an address where nothing
    // answers: it can neither prepare it nor tell it the abort it decides.
    await h.client.enlist(txnId, { name: 'forgotten', endpoint: '127.0.0.1:1' });
    await call((cb) => a.stub.prepare({ txnId, participantName: 'forgotten' }, cb));
    assert.equal((await h.client.commit(txnId)).outcome, 'ABORTED');
    // Left prepared, the branch asks by itself once it has waited checkAfterMs.
    await eventually(async () => a.handlers.log.includes(`abort ${txnId}`), 10_000, 'the abort');
    assert.deepEqual(a.handlers.log, [`prepare ${txnId}`, `abort ${txnId}`]);
  });

  it('serves grpc.health.v1', async function () {
    const a = await service('healthy');
    a.participant.health.setStatus('', 'SERVING');
    // The coordinator's heartbeats call this service; a real client proves it answers.
    const { loadSync } = await import('@grpc/proto-loader');
    const { protoPath } = await import('grpc-health-check');
    const def = grpc.loadPackageDefinition(loadSync(protoPath, { enums: String })) as unknown as {
      grpc: {
        health: {
          v1: {
            Health: new (
              a: string,
              c: grpc.ChannelCredentials,
            ) => grpc.Client & {
              check: (r: object, cb: (e: Error | null, r?: { status: string }) => void) => void;
            };
          };
        };
      };
    };
    const health = new def.grpc.health.v1.Health(
      a.participant.endpoint,
      grpc.credentials.createInsecure(),
    );
    const res = await new Promise<{ status: string } | undefined>((resolve, reject) =>
      health.check({ service: '' }, (e, r) => (e ? reject(e) : resolve(r))),
    );
    health.close();
    assert.equal(res?.status, 'SERVING');
  });
});
