import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';
import { loadTwopcProto } from 'twopc/internal/wire/proto';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { TwopcProcess } from '../support/child.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import { freePort } from '../support/hooks.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema, sql, testDatabaseUrl } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import type { FakeBehaviour, FakeParticipant } from '../support/fake-participant.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { childrenOf, memorySpans, spansOf } from '../support/tracing.ts';

async function scrape(address: string): Promise<string> {
  const res = await fetch(`http://${address}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

/** The value of a Prometheus sample, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith(name) &&
        Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)) &&
        !l.startsWith('#'),
    );
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('observability: traces, metrics, health', function () {
  this.timeout(30_000);
  let h: Harness;
  let schema: string;
  let proxy: TcpProxy;
  const exporter = memorySpans();
  const fleet = new FakeFleet();

  const fake = (name: string, behaviour: FakeBehaviour = {}): Promise<FakeParticipant> =>
    fleet.start(name, behaviour);

  before(async function () {
    schema = await migratedSchema(import.meta.url);
    const url = new URL(await testDatabaseUrl());
    proxy = await new TcpProxy(url.hostname, Number(url.port)).start();
    h = await startCoordinator(schema, {
      databaseUrl: proxy.url(url.toString()),
      sweepIntervalMs: 100,
    });
  });
  after(async function () {
    await fleet.stopAll();
    await h.stop();
    await proxy.stop();
  });

  it('traces a committed transaction: prepares, the decision write and commits under one transaction span', async function () {
    const [a, b] = [await fake('a'), await fake('b')];
    const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
    await h.client.commit(txnId, { waitForAcks: true });
    const traceId = (await h.client.get(txnId)).traceId;
    assert.match(traceId, /^[0-9a-f]{32}$/);
    const spans = spansOf(traceId);
    const root = spans.find((s) => s.name === 'twopc.transaction');
    assert.ok(root, 'no twopc.transaction span');
    assert.equal(root.attributes['twopc.outcome'], 'COMMITTED');
    const kids = childrenOf(spans, root);
    assert.deepEqual(kids.map((s) => s.name).sort(), [
      'twopc.commit',
      'twopc.commit',
      'twopc.decision_write',
      'twopc.prepare',
      'twopc.prepare',
    ]);
    const prepare = kids.find(
      (s) => s.name === 'twopc.prepare' && s.attributes['twopc.participant.name'] === 'a',
    );
    assert.equal(prepare?.attributes['twopc.vote'], 'PREPARED');
    assert.equal(prepare?.attributes['twopc.participant.endpoint'], a.endpoint);
    assert.equal(
      kids.find((s) => s.name === 'twopc.decision_write')?.attributes['twopc.forced'],
      true,
    );
    assert.ok(root.events.some((e) => e.name === 'decision'));
    // The participant received W3C trace context naming the prepare span as parent.
    const traceparent = String(a.callsOf('Prepare', txnId)[0]?.metadata.get('traceparent')[0]);
    assert.equal(traceparent.split('-')[1], traceId);
    assert.equal(traceparent.split('-')[2], prepare?.spanContext().spanId);
  });

  it("carries each call's own trace context on the batched channel", async function () {
    const [a, b] = [
      await fleet.start('a', {}, undefined, true),
      await fleet.start('b', {}, undefined, true),
    ];
    // The first calls go unary while the stream opens; then every call is batched.
    await eventually(async () => {
      const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
      await h.client.commit(txnId, { waitForAcks: true });
      return a.callsOf('Prepare', txnId)[0]?.transport === 'batched';
    });
    const ids = await Promise.all(
      [1, 2, 3].map(async () => {
        const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
        await h.client.commit(txnId, { waitForAcks: true });
        return txnId;
      }),
    );
    for (const txnId of ids) {
      const traceId = (await h.client.get(txnId)).traceId;
      for (const method of ['Prepare', 'Commit'] as const) {
        const c = a.callsOf(method, txnId)[0];
        assert.equal(c?.transport, 'batched');
        const span = spansOf(traceId).find(
          (s) =>
            s.name === `twopc.${method.toLowerCase()}` &&
            s.attributes['twopc.participant.name'] === 'a',
        );
        const traceparent = String(c.metadata.get('traceparent')[0]);
        assert.equal(traceparent.split('-')[1], traceId);
        assert.equal(traceparent.split('-')[2], span?.spanContext().spanId);
      }
    }
  });

  it("joins the spans of an SDK participant in another process to the transaction's trace", async function () {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/support/sdk-participant-process.ts',
        JSON.stringify({ name: 'remote', coordinator: h.app.address }),
      ],
      {
        cwd: fileURLToPath(new URL('../../', import.meta.url)),
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    try {
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const next = async (): Promise<Record<string, unknown>> =>
        JSON.parse(String((await lines.next()).value)) as Record<string, unknown>;
      const port = (await next()).listening;
      const local = await fake('local');
      const { txnId } = await h.client.begin({
        participants: [{ name: 'remote', endpoint: `127.0.0.1:${String(port)}` }, local.ref],
      });
      await h.client.commit(txnId, { waitForAcks: true });
      const traceId = (await h.client.get(txnId)).traceId;
      child.stdin.write('dump\n');
      const remote: Record<string, unknown>[] = [];
      for (let line = await next(); line.dumped !== true; line = await next()) {
        remote.push(line);
      }
      const prepare = spansOf(traceId).find(
        (s) => s.name === 'twopc.prepare' && s.attributes['twopc.participant.name'] === 'remote',
      );
      const joined = remote.find((s) => s.name === 'twopc.participant.prepare');
      assert.equal(
        joined?.traceId,
        traceId,
        "the participant's span is not in the transaction's trace",
      );
      assert.equal(joined?.parentSpanId, prepare?.spanContext().spanId);
      assert.ok(remote.some((s) => s.name === 'twopc.participant.commit' && s.traceId === traceId));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it("continues the client's trace when Begin carries traceparent", async function () {
    const clientTrace = '0af7651916cd43dd8448eb211c80319c';
    const md = new grpc.Metadata();
    md.set('traceparent', `00-${clientTrace}-b7ad6b7169203331-01`);
    const Ctor = loadTwopcProto().twopc.v1.Coordinator;
    const raw = new Ctor(h.app.address, grpc.credentials.createInsecure());
    const res = await new Promise<{ txnId: string }>((resolve, reject) =>
      raw.begin({}, md, (e: grpc.ServiceError | null, r?: { txnId: string }) =>
        e || !r ? reject(e) : resolve(r),
      ),
    );
    raw.close();
    assert.equal((await h.client.get(res.txnId)).traceId, clientTrace);
  });

  it('traces an aborted transaction: the ABORT vote, the decision, an abort to the prepared participant', async function () {
    const [a, b] = [await fake('ok'), await fake('no', { vote: 'ABORT', abortReason: 'nope' })];
    const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
    await h.client.commit(txnId, { waitForAcks: true });
    const spans = spansOf((await h.client.get(txnId)).traceId);
    const root = spans.find((s) => s.name === 'twopc.transaction');
    assert.equal(root?.attributes['twopc.outcome'], 'ABORTED');
    assert.match(String(root?.attributes['twopc.reason']), /voted ABORT: nope/);
    assert.ok(
      spans.some(
        (s) => s.name === 'twopc.abort' && s.attributes['twopc.participant.name'] === 'ok',
      ),
    );
    // An abort is told (to participants, to the client): forced like a commit.
    assert.equal(
      spans.find((s) => s.name === 'twopc.decision_write')?.attributes['twopc.forced'],
      true,
    );
  });

  it('traces a lease expiry', async function () {
    const a = await fake('leased');
    const { txnId } = await h.client.begin({ participants: [a.ref] });
    await sql(
      schema,
      `UPDATE twopc_transactions SET lease_expires_at = now() - interval '1 second' WHERE txn_id = $1`,
      [txnId],
    );
    await eventually(async () => (await h.client.get(txnId)).state === 'ABORTED');
    const root = await eventually(async () =>
      spansOf((await h.client.get(txnId)).traceId).find((s) => s.name === 'twopc.transaction'),
    );
    assert.equal(root.attributes['twopc.reason'], 'LEASE_EXPIRED');
    assert.ok(
      root.events.some((e) => e.name === 'timeout'),
      'no timeout event',
    );
  });

  it('links recovery work to the original trace', async function () {
    const stubborn = await fake('stubborn', { failCommitTimes: 1_000_000 });
    const b = await fake('b2');
    const { txnId } = await h.client.begin({ participants: [stubborn.ref, b.ref] });
    await h.client.commit(txnId);
    const original = (await h.client.get(txnId)).traceId;
    // The first coordinator goes away with phase 2 unfinished; a second one takes over.
    await h.stop();
    stubborn.behaviour = {};
    h = await startCoordinator(schema, {
      databaseUrl: proxy.url(await testDatabaseUrl()),
      sweepIntervalMs: 100,
    });
    await eventually(async () => (await h.client.get(txnId)).state === 'COMMITTED', 15_000);
    const recovery = await eventually(async () =>
      exporter
        .getFinishedSpans()
        .find((s) => s.name === 'twopc.recovery' && s.attributes['twopc.txn_id'] === txnId),
    );
    assert.equal(recovery.links[0]?.context.traceId, original);
    const retried = exporter
      .getFinishedSpans()
      .filter(
        (s) =>
          s.name === 'twopc.commit' && s.spanContext().traceId === recovery.spanContext().traceId,
      );
    assert.ok(retried.length >= 1);
  });

  it('links work recovered after a SIGKILL to the original trace', async function () {
    const killedSchema = await migratedSchema(import.meta.url, 'sigkill');
    const env = {
      DATABASE_URL: await testDatabaseUrl(),
      TWOPC_DB_SCHEMA: killedSchema,
      TWOPC_LISTEN: `127.0.0.1:${await freePort()}`,
      TWOPC_COORDINATOR_NAME: 'trace-kill',
      TWOPC_RETRY_BASE_MS: '20',
      TWOPC_RETRY_CAP_MS: '200',
      OTEL_TRACES_EXPORTER: 'console', // the first process traces too, so its context is stored
    };
    const stubborn = await fake('stubborn-k', { failCommitTimes: 1_000_000 });
    const other = await fake('other-k');
    const first = new TwopcProcess(['serve'], env);
    const client = new TwopcClient(await first.serving());
    const { txnId } = await client.begin({ participants: [stubborn.ref, other.ref] });
    assert.equal((await client.commit(txnId)).outcome, 'COMMITTED');
    const original = (await client.get(txnId)).traceId;
    client.close();
    assert.match(original, /^[0-9a-f]{32}$/);
    await first.kill('SIGKILL');
    stubborn.behaviour = {};
    const second = await startCoordinator(killedSchema, { coordinatorName: 'trace-kill' });
    try {
      await eventually(async () => (await second.client.get(txnId)).state === 'COMMITTED', 15_000);
      const recovery = await eventually(async () =>
        exporter
          .getFinishedSpans()
          .find((s) => s.name === 'twopc.recovery' && s.attributes['twopc.txn_id'] === txnId),
      );
      assert.equal(recovery.links[0]?.context.traceId, original);
    } finally {
      await second.stop();
    }
  });

  it('exports Prometheus metrics that move with the work', async function () {
    const before = await scrape(h.app.metricsAddress);
    const [a, b] = [await fake('m1'), await fake('m2')];
    const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
    await h.client.commit(txnId, { waitForAcks: true });
    const after = await scrape(h.app.metricsAddress);
    assert.equal(
      sample(after, 'twopc_transactions_begun_total') -
        sample(before, 'twopc_transactions_begun_total'),
      1,
    );
    assert.equal(
      sample(after, 'twopc_transactions_finished_total', { outcome: 'COMMITTED' }) -
        sample(before, 'twopc_transactions_finished_total', { outcome: 'COMMITTED' }),
      1,
    );
    assert.ok(sample(after, 'twopc_phase_duration_seconds_count', { phase: 'prepare' }) >= 2);
    assert.ok(sample(after, 'twopc_decision_write_seconds_count', { decision: 'commit' }) >= 1);
    assert.match(after, /twopc_store_connections\{pool="forced",state="idle"[,}]/);
    assert.match(after, /service_name="twopc"/);
    assert.match(after, /twopc_transactions_in_flight/);
  });

  it('serves gRPC reflection, so grpcurl needs no proto files', async function () {
    const file = createRequire(import.meta.url).resolve(
      '@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto',
    );
    const def = grpc.loadPackageDefinition(protoLoader.loadSync(file)) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
    };
    const client = new def.grpc.reflection.v1.ServerReflection(
      h.app.address,
      grpc.credentials.createInsecure(),
    ) as unknown as grpc.Client & {
      serverReflectionInfo(): grpc.ClientDuplexStream<
        object,
        { listServicesResponse?: { service: { name: string }[] } }
      >;
    };
    const stream = client.serverReflectionInfo();
    const names = await new Promise<string[]>((resolve, reject) => {
      stream.on('data', (res) =>
        resolve(res.listServicesResponse?.service.map((x: { name: string }) => x.name) ?? []),
      );
      stream.on('error', reject);
      stream.write({ listServices: '' });
    });
    stream.end();
    client.close();
    // Exactly what this server serves: not the participant services it only calls.
    assert.deepEqual([...names].sort(), [
      'grpc.health.v1.Health',
      'twopc.v1.Coordinator',
      'twopc.v1.Operator',
    ]);
  });

  it('turns gRPC health NOT_SERVING while the store is unreachable', async function () {
    const def = grpc.loadPackageDefinition(
      protoLoader.loadSync(protoPath, { enums: String }),
    ) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
    const health = new def.grpc.health.v1.Health(
      h.app.address,
      grpc.credentials.createInsecure(),
    ) as unknown as grpc.Client & {
      check(r: object, cb: (e: Error | null, r?: { status: string }) => void): void;
    };
    const status = (): Promise<string> =>
      new Promise((resolve) =>
        health.check({ service: 'twopc.v1.Coordinator' }, (e, r) =>
          resolve(e ? 'ERROR' : (r?.status ?? '')),
        ),
      );
    try {
      assert.equal(await status(), 'SERVING');
      proxy.cut();
      await eventually(async () => (await status()) === 'NOT_SERVING', 10_000, 'NOT_SERVING');
      proxy.heal();
      await eventually(async () => (await status()) === 'SERVING', 10_000, 'SERVING again');
    } finally {
      proxy.heal();
      health.close();
    }
  });
});
