import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { PYTHON, PythonInventory } from '../../examples/python-inventory.ts';
import { loadShopProto, startShopService } from '../../examples/shop-service.ts';
import type { ShopService } from '../../examples/shop-service.ts';
import { checkParticipant } from 'twopc/internal/conformance';
import { txnMetadata } from 'twopc/internal/twopc-client';
import { startCoordinator } from '../support/coordinator-harness.ts';
import { SecureRig } from '../support/secure-rig.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema, testDatabaseUrl } from '../support/db.ts';
import { assertDemoOutcomes, runDemo } from '../support/demo-run.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Take = grpc.Client & {
  [method: string]: (
    req: object,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (e: grpc.ServiceError | null) => void,
  ) => void;
};

describe('a participant in Python on the twopc package (examples/python)', function () {
  this.timeout(60_000);
  let h: Harness;
  let dir: string;
  let inventory: PythonInventory;
  let accounts: ShopService;
  let inventoryStub: Take;
  let accountsStub: Take;
  const fleet = new FakeFleet();

  const call = (stub: Take, method: string, txnId: string, key: string, amount: number) =>
    new Promise<void>((resolve, reject) =>
      stub[method]?.(
        { key, amount: String(amount) },
        txnMetadata(txnId),
        { deadline: new Date(Date.now() + 5_000) },
        (e) => (e ? reject(e) : resolve()),
      ),
    );

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url));
    dir = await mkdtemp(join(tmpdir(), 'twopc-python-'));
    inventory = await new PythonInventory({
      coordinator: h.app.address,
      db: join(dir, 'inventory.sqlite'),
      checkAfterS: 1,
    }).start();
    accounts = await startShopService('accounts', {
      databaseUrl: await testDatabaseUrl(),
      coordinator: h.app.address,
      listen: '127.0.0.1:0',
    });
    const shop = (loadShopProto().shop as grpc.GrpcObject).v1 as grpc.GrpcObject;
    const Inventory = shop.Inventory as grpc.ServiceClientConstructor;
    const Accounts = shop.Accounts as grpc.ServiceClientConstructor;
    inventoryStub = new Inventory(
      `127.0.0.1:${inventory.port}`,
      grpc.credentials.createInsecure(),
    ) as unknown as Take;
    accountsStub = new Accounts(
      accounts.endpoint,
      grpc.credentials.createInsecure(),
    ) as unknown as Take;
  });
  after(async function () {
    inventoryStub.close();
    accountsStub.close();
    await inventory.stop('SIGKILL');
    await accounts.stop();
    await fleet.stopAll();
    await h.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('commits a transaction across a TypeScript service and the Python one', async function () {
    const before = (await inventory.quantities()).widget ?? 0;
    const { txnId } = await h.client.begin();
    await call(accountsStub, 'debit', txnId, 'alice', 10);
    await call(inventoryStub, 'reserve', txnId, 'widget', 1);
    const answer = await h.client.commit(txnId, { waitForAcks: true });
    assert.equal(answer.state, 'COMMITTED');
    const tx = await h.client.get(txnId);
    assert.deepEqual(tx.participants.map((p) => [p.name, p.vote, p.acknowledged]).sort(), [
      ['accounts', 'VOTE_PREPARED', true],
      ['inventory-py', 'VOTE_PREPARED', true],
    ]);
    assert.equal((await inventory.quantities()).widget, before - 1);
  });

  it('rolls the Python branch back when the transaction aborts', async function () {
    const before = (await inventory.quantities()).gadget ?? 0;
    const { txnId } = await h.client.begin();
    await call(inventoryStub, 'reserve', txnId, 'gadget', 1);
    await call(accountsStub, 'debit', txnId, 'bob', 5);
    assert.equal((await h.client.abort(txnId)).outcome, 'ABORTED');
    // Abort answers once the decision is durable; phase 2 reaches the
    // participants after it. Wait until the Python branch acknowledged.
    await eventually(
      async () =>
        (await h.client.get(txnId)).participants.find((p) => p.name === 'inventory-py')
          ?.acknowledged,
      10_000,
      "inventory-py's acknowledgement of the abort",
    );
    await assert.rejects(
      call(inventoryStub, 'reserve', txnId, 'gadget', 1),
      /already ABORTED here/,
    );
    assert.equal((await inventory.quantities()).gadget, before);
  });

  it('votes ABORT with its reason when the stock does not cover the branch', async function () {
    const before = await inventory.quantities();
    const { txnId } = await h.client.begin();
    await call(accountsStub, 'debit', txnId, 'bob', 1);
    await call(inventoryStub, 'reserve', txnId, 'gadget', 1_000);
    const answer = await h.client.commit(txnId, { waitForAcks: true });
    assert.equal(answer.outcome, 'ABORTED');
    assert.match(
      answer.reason,
      /participant 'inventory-py' voted ABORT: only \d+ units of 'gadget' available, 1000 asked/,
    );
    assert.deepEqual(await inventory.quantities(), before);
  });

  it('passes the conformance kit, prepared work surviving a SIGKILL of the Python process', async function () {
    const results = await checkParticipant({
      participant: `127.0.0.1:${inventory.port}`,
      name: 'inventory-py',
      work: async () => {
        const { txnId } = await h.client.begin({ timeoutMs: 60_000 });
        await call(inventoryStub, 'reserve', txnId, 'widget', 1);
        return txnId;
      },
      restart: async () => {
        await inventory.stop('SIGKILL');
        await inventory.start();
      },
    });
    assert.deepEqual(
      results.filter((r) => r.status !== 'pass').map((r) => [r.check, r.status, r.detail]),
      [],
    );
  });

  it("answers wait_for_acks before a Python client's deadline, which arrives rounded", async function () {
    // A participant that never acknowledges: the answer is the current state, in time.
    const [a, b] = [
      await fleet.start('acks-a'),
      await fleet.start('acks-b', { failCommitTimes: 1_000_000 }),
    ];
    const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
    const script = `
import sys, time
sys.path.insert(0, 'python/src')
import twopc
client = twopc.TwopcClient(sys.argv[1], attempts=1)
started = time.monotonic()
try:
    res = client.commit(sys.argv[2], wait_for_acks=True, timeout_s=float(sys.argv[3]))
    print('OK', res.state.value, round(time.monotonic() - started, 3))
except twopc.TwopcError as err:
    print(err.status.name, round(time.monotonic() - started, 3))
`;
    // Not spawnSync: the coordinator serves from this process's event loop.
    const run = (timeout: string): Promise<string> =>
      new Promise((resolve) => {
        const child = spawn(PYTHON, ['-c', script, h.app.address, txnId, timeout], { cwd: ROOT });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', () => resolve(out.trim()));
      });
    for (const timeout of ['1', '2.5']) {
      const out = await run(timeout);
      const [status, state] = out.split(' ');
      assert.equal(status, 'OK', `timeout ${timeout} s: ${out}`);
      assert.equal(state, 'COMMITTING');
    }
  });

  it('runs in the demo next to the TypeScript accounts service, over mutual TLS (npm run demo -- --python)', async function () {
    // Its own directory: the embedded PostgreSQL makes it its own.
    const demoDir = await mkdtemp(join(tmpdir(), 'twopc-python-demo-'));
    const { code, out } = await runDemo({ TWOPC_DATA_DIR: demoDir }, ['--python']);
    await rm(demoDir, { recursive: true, force: true });
    assert.equal(code, 0, out);
    assert.match(out, /coordinator at .* \(mutual TLS/);
    assert.match(out, /inventory: the Python service at 127\.0\.0\.1:\d+/);
    assertDemoOutcomes(out);
  });

  it('runs in the demo against a running coordinator too, from fresh stock on every run', async function () {
    const demoDir = await mkdtemp(join(tmpdir(), 'twopc-python-demo-'));
    await chmod(demoDir, 0o755); // the services' PostgreSQL runs as another user
    const dataDir = join(demoDir, 'not-made-yet');
    try {
      for (const run of [1, 2]) {
        const { code, out } = await runDemo(
          { TWOPC_ADDRESS: h.app.address, DATABASE_URL: '', TWOPC_DATA_DIR: dataDir },
          ['--python'],
        );
        assert.equal(code, 0, `run ${run}: ${out}`);
        assert.match(out, /coordinator at .* \(plaintext\)/);
        assertDemoOutcomes(out);
      }
    } finally {
      await rm(demoDir, { recursive: true, force: true });
    }
  });

  it('a call carrying two authorization fields is refused whatever their order (HTTP/2 would keep only the first)', async function () {
    const rig = await SecureRig.create({});
    const secured = await startCoordinator(h.config.dbSchema, {
      ...rig.config(),
      coordinatorName: 'python-duplicates',
    });
    try {
      const good = await rig.sign('py-ops', { roles: ['operator'] });
      // Raw metadata on purpose (the package sends one token): the package's wire messages.
      const script = `
import sys
sys.path.insert(0, 'python/src')
import grpc
from twopc.v1 import coordinator_pb2
creds = grpc.ssl_channel_credentials(open(sys.argv[2], 'rb').read())
channel = grpc.secure_channel(sys.argv[1], creds)
list_transactions = channel.unary_unary('/twopc.v1.Coordinator/ListTransactions',
    request_serializer=coordinator_pb2.ListTransactionsRequest.SerializeToString,
    response_deserializer=coordinator_pb2.ListTransactionsResponse.FromString)
good, bad = 'Bearer ' + sys.argv[3], 'Bearer not-a-token'
for first, second in ((good, bad), (bad, good)):
    try:
        list_transactions(coordinator_pb2.ListTransactionsRequest(), timeout=5,
                          metadata=[('authorization', first), ('authorization', second)])
        print('OK')
    except grpc.RpcError as err:
        print(err.code().name)
list_transactions(coordinator_pb2.ListTransactionsRequest(), timeout=5, metadata=[('authorization', good)])
print('ONE OK')
`;
      const out = await new Promise<string>((resolve) => {
        const child = spawn(PYTHON, ['-c', script, secured.app.address, rig.ca.caFile, good], {
          cwd: ROOT,
        });
        let text = '';
        child.stdout.on('data', (d: Buffer) => (text += d.toString()));
        child.stderr.on('data', (d: Buffer) => (text += d.toString()));
        child.once('exit', () => resolve(text.trim()));
      });
      assert.deepEqual(out.split('\n'), ['UNAUTHENTICATED', 'UNAUTHENTICATED', 'ONE OK'], out);
    } finally {
      await secured.stop();
      rig.remove();
    }
  });
});
