import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { loadTwopcProto } from 'twopc/internal/wire/proto';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema, sql } from '../support/db.ts';
import { eventually, expectStatus } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import { SecureRig } from '../support/secure-rig.ts';

describe('admission limits and the endpoints never dialled', function () {
  let schema: string;
  const harnesses: Harness[] = [];
  const fleet = new FakeFleet();
  const start = async (over: Parameters<typeof startCoordinator>[1]): Promise<Harness> => {
    const h = await startCoordinator(schema, over);
    harnesses.push(h);
    return h;
  };

  before(async function () {
    schema = await migratedSchema(import.meta.url);
  });
  afterEach(async function () {
    await Promise.all(harnesses.splice(0).map((h) => h.stop()));
    await fleet.stopAll();
    await sql(schema, 'DELETE FROM twopc_transactions');
  });

  it('answers RESOURCE_EXHAUSTED naming the cap, with a retry hint, past the open-transaction cap', async function () {
    const h = await start({ maxOpenTransactionsPerTenant: 5 });
    // The count is the log's, read in the background while Begins are
    // written: it is exact to within a Begin in flight when it was read.
    let begun = 0;
    let refusal: grpc.ServiceError | null = null;
    while (refusal === null && begun < 10) {
      await h.client.begin().then(
        () => begun++,
        (e: grpc.ServiceError) => (refusal = e),
      );
    }
    const err = refusal as grpc.ServiceError | null;
    assert.ok(err !== null, `${begun} Begins and no refusal`);
    assert.equal(grpc.status[err.code], 'RESOURCE_EXHAUSTED');
    assert.ok(begun >= 4 && begun <= 6, `refused after ${begun} Begins, the cap is 5`);
    assert.match(
      err.details,
      /TWOPC_MAX_OPEN_TRANSACTIONS_PER_TENANT: tenant 'default' has \d unfinished transactions, the cap is 5/,
    );
    assert.ok(Number(err.metadata.get('grpc-retry-pushback-ms')[0]) > 0);
    const [open] = await sql<{ n: number }>(
      schema,
      "SELECT count(*)::int AS n FROM twopc_transactions WHERE state = 'ACTIVE'",
    );
    assert.equal(open?.n, begun);
  });

  it('answers a header block of 20 kB, 70 kB or 150 kB at once, never at the deadline', async function () {
    const h = await start({});
    const Stub = loadTwopcProto().twopc.v1.Coordinator;
    for (const size of [20_000, 70_000, 150_000]) {
      const stub = new Stub(h.app.address, grpc.credentials.createInsecure());
      const md = new grpc.Metadata();
      md.set('x-padding', 'x'.repeat(size));
      const code = await new Promise<grpc.status>((resolve) =>
        stub.begin({}, md, { deadline: Date.now() + 20_000 }, (e: grpc.ServiceError | null) =>
          resolve(e === null ? grpc.status.OK : e.code),
        ),
      );
      assert.notEqual(code, grpc.status.DEADLINE_EXCEEDED, `${size} bytes waited for the deadline`);
      assert.notEqual(code, grpc.status.OK, `${size} bytes of metadata accepted`);
      stub.close();
    }
  });

  it('refuses oversized metadata and messages', async function () {
    const h = await start({ maxMetadataBytes: 2048, maxMessageBytes: 4096 });
    const md = new grpc.Metadata();
    md.set('x-padding', 'x'.repeat(4000));
    const Stub = loadTwopcProto().twopc.v1.Coordinator;
    const stub = new Stub(h.app.address, grpc.credentials.createInsecure());
    await expectStatus(
      new Promise((resolve, reject) => stub.begin({}, md, (e, r) => (e ? reject(e) : resolve(r)))),
      grpc.status.RESOURCE_EXHAUSTED,
      /TWOPC_MAX_METADATA_BYTES/,
    );
    await expectStatus(
      h.client.begin({
        labels: { big: 'y'.repeat(250) },
        participants: Array.from({ length: 30 }, (_, i) => ({
          name: `p${i}`,
          endpoint: `host-${'z'.repeat(200)}:1`,
        })),
      }),
      grpc.status.RESOURCE_EXHAUSTED,
    );
    stub.close();
  });

  it('never dials link-local or metadata addresses or its own ports, even without a registry', async function () {
    const h = await start({});
    const { txnId } = await h.client.begin();
    const dbPort = new URL(h.app.databaseUrl).port;
    const cases: [string, RegExp][] = [
      ['169.254.169.254:80', /link-local, metadata/],
      ['[fe80::1]:50051', /link-local, metadata/],
      ['0.0.0.0:5432', /unspecified/],
      [`127.0.0.1:${dbPort}`, /this coordinator's PostgreSQL/],
      [`localhost:${dbPort}`, /this coordinator's PostgreSQL/],
      [h.app.address, /this coordinator's gRPC listener/],
      [h.app.metricsAddress, /this coordinator's metrics listener/],
    ];
    for (const [endpoint, why] of cases) {
      await expectStatus(
        h.client.enlist(txnId, { name: 'svc', endpoint }),
        grpc.status.PERMISSION_DENIED,
        why,
      );
    }
    assert.equal((await h.client.get(txnId)).participants.length, 0);
  });

  it('tells a connection failure as a kind, and finishes an abort whose participant never voted', async function () {
    const h = await start({ abortAttempts: 3 });
    const up = await fleet.start('up');
    const closed = await fleet.start('gone');
    const endpoint = closed.endpoint;
    await closed.stop();
    const { txnId } = await h.client.begin({
      participants: [up.ref, { name: 'gone', endpoint }],
    });
    const answer = await h.client.commit(txnId);
    assert.equal(answer.outcome, 'ABORTED');
    assert.match(answer.reason, /participant 'gone'.*unreachable: connection refused/);
    assert.doesNotMatch(answer.reason, /ECONNREFUSED/);
    const tx = await eventually(async () => {
      const t = await h.client.get(txnId);
      return t.state === 'ABORTED' ? t : null;
    });
    const gone = tx.participants.find((p) => p.name === 'gone');
    assert.equal(gone?.attempts, 3);
    assert.match(
      String(gone?.lastError),
      /gave up after 3 Abort attempts.*no Prepare ever reached it/,
    );
  });

  it('keeps serving other tenants through a flood of 100,000 Begins from one', async function () {
    this.timeout(180_000);
    const rig = await SecureRig.create({});
    try {
      // Leases outlive the flood: every admitted Begin stays open to the end.
      const h = await start({
        ...rig.config(),
        maxOpenTransactionsPerTenant: 1_000,
        leaseDefaultMs: 600_000,
      });
      const flooder = rig.client(h.app.address, 'shop');
      const rival = rig.client(h.app.address, 'rival');
      let sent = 0;
      let refused = 0;
      const worker = async (): Promise<void> => {
        while (sent < 100_000) {
          sent++;
          await flooder.begin().catch((err: grpc.ServiceError) => {
            assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED, err.details);
            refused++;
          });
        }
      };
      const flood = Promise.all(Array.from({ length: 64 }, worker));
      await eventually(async () => refused > 1_000, 60_000, 'the flood refused');
      const { txnId } = await rival.begin();
      assert.equal((await rival.commit(txnId)).outcome, 'COMMITTED');
      await flood;
      const [open] = await sql<{ n: number }>(
        schema,
        "SELECT count(*)::int AS n FROM twopc_transactions WHERE tenant = 'shop' AND state = 'ACTIVE'",
      );
      assert.ok(open !== undefined && open.n <= 1_000 + 64, `${open?.n} open for the flooder`);
      assert.equal(h.app.coordinator.inFlight, 0);
      flooder.close();
      rival.close();
    } finally {
      rig.remove();
    }
  });
});
