import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { newClientTxnId } from 'twopc/internal/contract/client-txn-id';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { loadTwopcProto } from 'twopc/internal/wire/proto';
import type { BeginRequest } from 'twopc/internal/wire/generated/twopc/v1/BeginRequest';
import type { CoordinatorClient } from 'twopc/internal/wire/generated/twopc/v1/Coordinator';
import { writeBegins } from '../../src/store/pg-batch-writes.ts';
import { createPools } from '../../src/store/pg-pools.ts';
import type { BeginInput as StoreBegin } from '../../src/store/transaction-store.ts';
import { FakeParticipant } from '../support/fake-participant.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { freshSchema, loggedState, migratedSchema, sql, testDatabaseUrl } from '../support/db.ts';
import { shardOf } from '../../src/store/shard-id.ts';
import { eventually, expectStatus } from '../support/expect-status.ts';

/** Begin over the wire, as any client of the proto would send it. */
function rawBegin(
  stub: CoordinatorClient,
  req: BeginRequest,
): Promise<{ txnId: string; leaseExpiresAt: { seconds: string } | null }> {
  return new Promise((resolve, reject) =>
    stub.begin(req, (err, res) =>
      err !== null || res === undefined
        ? reject(err ?? new Error('no answer'))
        : resolve(res as { txnId: string; leaseExpiresAt: { seconds: string } | null }),
    ),
  );
}

// Pieces of the store's statements (src/store/pg-queries.ts) that name them.
const BEGIN_SQL = '$2::jsonb[]';
const ENLIST_SQL = 'AS d(txn_id, name, endpoint';

/** Statements waiting for a lock (a held LOCK TABLE) whose text contains `pattern`. */
async function lockWaiters(schema: string, pattern: string): Promise<number> {
  const rows = await sql<{ n: string }>(
    schema,
    `SELECT count(*) AS n FROM pg_stat_activity
      WHERE wait_event_type = 'Lock' AND strpos(query, $1) > 0`,
    [pattern],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Holds Begin's INSERT (and every other write of the transactions table)
 * until `release` is called: reads go on. What a Begin whose row is slow to
 * land looks like to the calls that follow it.
 */
function holdWrites(schema: string): Promise<{ release: () => Promise<void> }> {
  return holdTable(schema, 'twopc_transactions', 'SHARE');
}

/** Holds a lock on a table of the log until `release` is called. */
async function holdTable(
  schema: string,
  table: string,
  mode: 'SHARE' | 'ACCESS EXCLUSIVE',
): Promise<{ release: () => Promise<void> }> {
  const c = new pg.Client({ connectionString: await testDatabaseUrl() });
  c.on('error', () => undefined);
  await c.connect();
  await c.query('BEGIN');
  await c.query(`LOCK TABLE ${schema}.${table} IN ${mode} MODE`);
  return {
    release: async () => {
      await c.query('COMMIT');
      await c.end();
    },
  };
}

describe('Begin with a client-made id (Begin off the client path)', function () {
  let schema: string;
  let h: Harness;
  /** A second coordinator on the same log: it hears of a Begin only through the log. */
  let other: Harness;
  let stub: CoordinatorClient;
  let p: FakeParticipant;

  before(async function () {
    schema = await migratedSchema(import.meta.url);
    h = await startCoordinator(schema);
    other = await startCoordinator(schema);
    stub = new (loadTwopcProto().twopc.v1.Coordinator)(
      h.app.address,
      grpc.credentials.createInsecure(),
    );
    p = await new FakeParticipant('p').start();
  });
  after(async function () {
    stub.close();
    await p.stop();
    await other.stop();
    await h.stop();
  });

  it('takes the id the client made, and the row holds it', async function () {
    const txnId = newClientTxnId();
    const res = await rawBegin(stub, { txnId, participants: [p.ref] });
    assert.equal(res.txnId, txnId);
    assert.equal(await loggedState(schema, txnId), 'ACTIVE');
    assert.equal((await h.client.commit(txnId)).outcome, 'COMMITTED');
  });

  it('refuses a malformed client id with INVALID_ARGUMENT naming txn_id', async function () {
    const v7 = newClientTxnId();
    for (const bad of [
      v7.toUpperCase(),
      '00000000-0000-4000-8000-000000000000', // version 4: the coordinator's own kind
      `${v7.slice(0, 14)}8${v7.slice(15)}`, // version 8: a shard's id
      'not-a-uuid',
      `${v7}\u0000`,
    ]) {
      await expectStatus(
        rawBegin(stub, { txnId: bad }),
        grpc.status.INVALID_ARGUMENT,
        /^txn_id: .* lowercase version-7 UUID/,
      );
    }
  });

  it('answers ALREADY_EXISTS for an id the log holds, and a repeat of the same Begin as the first time', async function () {
    const txnId = newClientTxnId();
    const first = await rawBegin(stub, { txnId, labels: { order: '1' }, participants: [p.ref] });
    // The same Begin again (its answer lost, the client retried): the same answer.
    const again = await rawBegin(stub, { txnId, labels: { order: '1' }, participants: [p.ref] });
    assert.deepEqual(again, first);
    // Another Begin with the id: refused, and the row is unchanged.
    const err = await expectStatus(
      rawBegin(stub, { txnId, labels: { order: '2' } }),
      grpc.status.ALREADY_EXISTS,
      /txn_id: transaction .* already exists/,
    );
    assert.deepEqual(err.metadata.get('twopc-error-code'), ['TWOPC_TX_EXISTS']);
    assert.deepEqual((await h.client.get(txnId)).labels, { order: '1' });
    assert.equal((await h.client.commit(txnId)).outcome, 'COMMITTED');
    // Once it is no longer ACTIVE, even the same Begin is refused.
    await expectStatus(
      rawBegin(stub, { txnId, labels: { order: '1' }, participants: [p.ref] }),
      grpc.status.ALREADY_EXISTS,
    );
  });

  it('writes one row of two concurrent Begins with one id, and refuses the other', async function () {
    const txnId = newClientTxnId();
    const both = await Promise.allSettled([
      rawBegin(stub, { txnId, labels: { n: 'a' } }),
      rawBegin(stub, { txnId, labels: { n: 'b' } }),
    ]);
    const won = both.filter((r) => r.status === 'fulfilled');
    const lost = both.filter((r) => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.equal((lost[0]!.reason as grpc.ServiceError).code, grpc.status.ALREADY_EXISTS);
    const rows = await sql(schema, 'SELECT 1 FROM twopc_participants WHERE txn_id = $1', [txnId]);
    assert.equal(rows.length, 0);
  });

  it('writes the first of two Begins with one id in one batch, and neither participant list of the other', async function () {
    const pools = createPools({
      url: await testDatabaseUrl(),
      schema,
      maxConnections: 2,
      onError: () => undefined,
    });
    try {
      const txnId = newClientTxnId();
      const begin = (name: string): StoreBegin => ({
        txnId,
        leaseMs: 60_000,
        labels: { name },
        participants: [{ name, endpoint: '127.0.0.1:1' }],
        ownerId: randomUUID(),
        traceContext: null,
        tenant: 'default',
        principal: null,
      });
      const [first, second] = await writeBegins(pools.lazy, [begin('a'), begin('b')]);
      assert.ok(first instanceof Date);
      assert.equal(second, null);
      const names = await sql<{ name: string }>(
        schema,
        'SELECT name FROM twopc_participants WHERE txn_id = $1',
        [txnId],
      );
      assert.deepEqual(
        names.map((r) => r.name),
        ['a'],
      );
    } finally {
      await Promise.all([pools.lazy.end(), pools.forced.end()]);
    }
  });

  it('lets an Enlist, a GetTransaction and a Commit of a young id wait for its row, never NOT_FOUND', async function () {
    const txnId = newClientTxnId();
    const held = await holdWrites(schema);
    let released = false;
    try {
      const begun = rawBegin(stub, { txnId });
      await eventually(() => lockWaiters(schema, BEGIN_SQL));
      // A participant asking about the id before its row lands (what a
      // participant recovering its work does) must not hear NOT_FOUND,
      // which means aborted: neither from the coordinator writing the
      // Begin, nor from another one, which reads the log until the row is there.
      const askedHere = h.client.get(txnId);
      const asked = other.client.get(txnId);
      const enlisted = other.client.enlist(txnId, p.ref);
      await eventually(() => lockWaiters(schema, ENLIST_SQL));
      await held.release();
      released = true;
      assert.equal((await begun).txnId, txnId);
      assert.equal((await enlisted).newlyEnlisted, true);
      assert.equal((await asked).state, 'ACTIVE');
      assert.equal((await askedHere).state, 'ACTIVE');
      assert.equal((await other.client.commit(txnId)).outcome, 'COMMITTED');
      assert.equal((await h.client.get(txnId)).outcome, 'OUTCOME_COMMITTED');
    } finally {
      if (!released) {
        await held.release();
      }
    }
  });

  it('claims a young id again when its row landed between the Commit claim and the read after it', async function () {
    const txnId = newClientTxnId();
    // The read of the row after a claim that found nothing is held (it
    // reads the operator actions, which neither Begin nor the claim touch).
    const held = await holdTable(schema, 'twopc_operator_actions', 'ACCESS EXCLUSIVE');
    let released = false;
    try {
      const committed = h.client.commit(txnId, { timeoutMs: 8_000 });
      await eventually(() => lockWaiters(schema, 'twopc_operator_actions a WHERE'));
      // The claim missed the row; now Begin lands, before the read.
      assert.equal((await rawBegin(stub, { txnId, participants: [p.ref] })).txnId, txnId);
      await held.release();
      released = true;
      assert.equal((await committed).outcome, 'COMMITTED');
    } finally {
      if (!released) {
        await held.release();
      }
    }
  });

  it('sends Commit behind a Begin sent ahead, and answers it once the row is written', async function () {
    const client = new TwopcClient(h.app.address, { attempts: 1 });
    try {
      await client.begin(); // shows that this coordinator takes client-made ids
      const held = await holdWrites(schema);
      let released = false;
      try {
        const { txnId, begun } = await client.beginAhead({ participants: [p.ref] });
        assert.match(txnId, /^[0-9a-f]{8}-[0-9a-f]{4}-7/);
        const committed = client.commit(txnId);
        await eventually(() => lockWaiters(schema, BEGIN_SQL));
        await held.release();
        released = true;
        assert.equal((await committed).outcome, 'COMMITTED');
        assert.equal((await begun).txnId, txnId);
        assert.equal(await loggedState(schema, txnId), 'COMMITTED');
      } finally {
        if (!released) {
          await held.release();
        }
      }
    } finally {
      client.close();
    }
  });

  it('fails every call naming an id whose Begin failed, with the Begin error', async function () {
    const client = new TwopcClient(h.app.address, { attempts: 1 });
    try {
      await client.begin();
      const { txnId, begun } = await client.beginAhead({ timeoutMs: 2 ** 31 });
      await expectStatus(begun, grpc.status.INVALID_ARGUMENT, /timeout_ms/);
      await expectStatus(client.enlist(txnId, p.ref), grpc.status.INVALID_ARGUMENT, /timeout_ms/);
      await expectStatus(client.commit(txnId), grpc.status.INVALID_ARGUMENT, /timeout_ms/);
      assert.equal(await loggedState(schema, txnId), undefined);
    } finally {
      client.close();
    }
  });
});

describe('Begin ahead against a coordinator that makes its own ids', function () {
  let schema: string;
  let h: Harness;

  before(async function () {
    schema = await migratedSchema(import.meta.url, 'own-ids');
    h = await startCoordinator(schema, { clientTxnIds: false });
  });
  after(async function () {
    await h.stop();
  });

  it('waits for Begin and uses the id the coordinator answered', async function () {
    const client = new TwopcClient(h.app.address, { attempts: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        const { txnId, begun } = await client.beginAhead();
        // Never the proposed (version-7) id: only an id the log holds goes out.
        assert.match(txnId, /^[0-9a-f]{8}-[0-9a-f]{4}-4/);
        assert.equal(await loggedState(schema, txnId), 'ACTIVE');
        assert.equal((await begun).txnId, txnId);
        assert.equal((await client.commit(txnId)).outcome, 'COMMITTED');
      }
    } finally {
      client.close();
    }
  });

  it('answers an id of its own to a Begin that proposes one', async function () {
    const proposed = newClientTxnId();
    const stub = new (loadTwopcProto().twopc.v1.Coordinator)(
      h.app.address,
      grpc.credentials.createInsecure(),
    );
    try {
      const res = await rawBegin(stub, { txnId: proposed });
      assert.notEqual(res.txnId, proposed);
      assert.equal(await loggedState(schema, proposed), undefined);
    } finally {
      stub.close();
    }
  });
});

describe('Begin ahead against a sharded log (ids name their shard)', function () {
  let dir: string;
  let h: Harness;
  const schemas: Record<number, string> = {};

  before(async function () {
    const url = await testDatabaseUrl();
    for (const id of [0, 5]) {
      schemas[id] = await freshSchema(import.meta.url, `shard${id}`);
    }
    dir = await mkdtemp(join(tmpdir(), 'twopc-ahead-shards-'));
    const file = join(dir, 'shards.json');
    await writeFile(
      file,
      JSON.stringify({
        shards: [0, 5].map((id) => ({ id, weight: 1, url, schema: schemas[id] })),
      }),
    );
    h = await startCoordinator(schemas[0]!, { logShards: file, databaseUrl: null });
  });
  after(async function () {
    await h?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers ids of its own, and the client begins with them on their shards', async function () {
    const stub = new (loadTwopcProto().twopc.v1.Coordinator)(
      h.app.address,
      grpc.credentials.createInsecure(),
    );
    const client = new TwopcClient(h.app.address, { attempts: 1 });
    try {
      const proposed = newClientTxnId();
      assert.notEqual((await rawBegin(stub, { txnId: proposed })).txnId, proposed);
      for (let i = 0; i < 12; i++) {
        const { txnId } = await client.beginAhead();
        assert.doesNotMatch(txnId, /^[0-9a-f]{8}-[0-9a-f]{4}-7/);
        const rows = await sql<{ state: string }>(
          schemas[shardOf(txnId)]!,
          'SELECT state FROM twopc_transactions WHERE txn_id = $1',
          [txnId],
        );
        assert.equal(rows[0]?.state, 'ACTIVE', txnId);
        assert.equal((await client.commit(txnId)).outcome, 'COMMITTED');
      }
    } finally {
      stub.close();
      client.close();
    }
  });
});
