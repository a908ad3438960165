import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadShopProto, startShopService } from '../../examples/shop-service.ts';
import type { ShopService } from '../../examples/shop-service.ts';
import { checkParticipant } from '../../src/sdk/conformance.ts';
import { txnMetadata } from '../../src/sdk/twopc-client.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema, testDatabaseUrl } from '../support/db.ts';
import { FakeFleet } from '../support/fake-participant.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Debian's interpreter, where python3-grpcio and python3-grpc-tools install. */
const PYTHON = process.env.TWOPC_PYTHON ?? '/usr/bin/python3';

type Take = grpc.Client & {
  [method: string]: (
    req: object,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (e: grpc.ServiceError | null) => void,
  ) => void;
};

/** The Python inventory service (examples/python/inventory.py) in a process of its own. */
class PythonInventory {
  child: ChildProcess | null = null;
  port = 0;
  readonly db: string;
  readonly coordinator: string;
  constructor(db: string, coordinator: string) {
    this.db = db;
    this.coordinator = coordinator;
  }

  async start(): Promise<void> {
    const child = spawn(
      PYTHON,
      [
        'examples/python/inventory.py',
        '--coordinator',
        this.coordinator,
        '--listen',
        `127.0.0.1:${this.port}`,
        '--db',
        this.db,
        '--check-after',
        '1',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.child = child;
    const first = await createInterface({ input: child.stdout as NodeJS.ReadableStream })
      [Symbol.asyncIterator]()
      .next();
    this.port = (JSON.parse(String(first.value)) as { listening: number }).listening;
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** Units of a SKU in stock, read from the service's SQLite file. */
  stock(sku: string): number {
    const out = spawnSync(PYTHON, [
      '-c',
      'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT units FROM stock WHERE sku = ?", (sys.argv[2],)).fetchone()[0])',
      this.db,
      sku,
    ]);
    return Number(out.stdout.toString());
  }
}

describe('a participant in Python, written from the proto alone (examples/python)', function () {
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
    inventory = new PythonInventory(join(dir, 'inventory.sqlite'), h.app.address);
    await inventory.start();
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
    await inventory.kill();
    await accounts.stop();
    await fleet.stopAll();
    await h.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('commits a transaction across a TypeScript service and the Python one', async function () {
    const before = inventory.stock('widget');
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
    assert.equal(inventory.stock('widget'), before - 1);
  });

  it('rolls the Python branch back when the transaction aborts', async function () {
    const before = inventory.stock('gadget');
    const { txnId } = await h.client.begin();
    await call(inventoryStub, 'reserve', txnId, 'gadget', 1);
    await call(accountsStub, 'debit', txnId, 'bob', 5);
    assert.equal((await h.client.abort(txnId)).outcome, 'ABORTED');
    await assert.rejects(
      call(inventoryStub, 'reserve', txnId, 'gadget', 1),
      /already ABORTED here/,
    );
    assert.equal(inventory.stock('gadget'), before);
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
        await inventory.kill();
        await inventory.start();
      },
    });
    assert.deepEqual(
      results.filter((r) => r.status !== 'pass').map((r) => [r.check, r.status]),
      [['the batched channel, when offered', 'skip']],
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
sys.path.insert(0, 'examples/python/gen')
import grpc
from twopc.v1 import coordinator_pb2, coordinator_pb2_grpc
stub = coordinator_pb2_grpc.CoordinatorStub(grpc.insecure_channel(sys.argv[1]))
started = time.monotonic()
try:
    res = stub.Commit(coordinator_pb2.CommitRequest(txn_id=sys.argv[2], wait_for_acks=True), timeout=float(sys.argv[3]))
    print('OK', coordinator_pb2.TransactionState.Name(res.state), round(time.monotonic() - started, 3))
except grpc.RpcError as err:
    print(err.code().name, round(time.monotonic() - started, 3))
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
      assert.equal(state, 'TRANSACTION_STATE_COMMITTING');
    }
  });
});
