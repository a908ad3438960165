import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { shardOf } from '../../src/store/shard-id.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { freshSchema, testDatabaseUrl, withClient } from '../support/db.ts';
import { eventually, expectStatus } from '../support/expect-status.ts';

/**
 * Shards of the log in one process, over two (then three) schemas of the
 * test PostgreSQL: routing by id, spreading by weight, the merged listing
 * and its page token, adding, draining and removing a shard while the
 * coordinator runs. Shards on PostgreSQL servers of their own, crashed and
 * stalled, are the process suite's (shards.test.ts there).
 */
describe('log shards: routing, listing and changing the shard set in a running coordinator', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  let h: Harness;
  const schemas: Record<number, string> = {};
  let url: string;

  async function writeShards(shards: { id: number; weight: number }[]): Promise<void> {
    await writeFile(
      file,
      JSON.stringify({
        shards: shards.map((s) => ({ ...s, url, schema: schemas[s.id] })),
      }),
    );
  }

  async function sql<R extends { [k: string]: unknown }>(text: string): Promise<R[]> {
    return withClient(async (c) => (await c.query<R>(text)).rows);
  }

  /** Begins transactions until one lands on `shard` (the others are aborted). */
  async function beginOn(shard: number): Promise<string> {
    for (;;) {
      const { txnId } = await h.client.begin({});
      if (shardOf(txnId) === shard) {
        return txnId;
      }
      await h.client.abort(txnId);
    }
  }

  /** Every transaction of every shard's schema, newest first (the reference listing). */
  async function allRows(ids: number[]): Promise<string[]> {
    const parts = ids.map(
      (id) => `SELECT txn_id, created_at FROM ${schemas[id]}.twopc_transactions`,
    );
    const rows = await sql<{ txn_id: string }>(
      `${parts.join(' UNION ALL ')} ORDER BY created_at DESC, txn_id DESC`,
    );
    return rows.map((r) => r.txn_id);
  }

  async function pageThrough(pageSize: number, between?: () => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    let pageToken = '';
    for (let page = 0; ; page++) {
      const res = await h.client.list({ pageSize, pageToken });
      seen.push(...res.transactions.map((t) => t.txnId));
      if (res.nextPageToken === '') {
        return seen;
      }
      pageToken = res.nextPageToken;
      if (page === 1) {
        await between?.();
      }
    }
  }

  before(async function () {
    url = await testDatabaseUrl();
    for (const id of [0, 7, 12]) {
      schemas[id] = await freshSchema(import.meta.url, `shard${id}`);
    }
    dir = await mkdtemp(join(tmpdir(), 'twopc-shards-'));
    file = join(dir, 'shards.json');
    await writeShards([
      { id: 0, weight: 1 },
      { id: 7, weight: 3 },
    ]);
    h = await startCoordinator(schemas[0]!, { logShards: file, databaseUrl: null });
  });

  after(async function () {
    await h?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('spreads new transactions by weight; each lives in the shard its id names, and every call routes there', async function () {
    const ids = await Promise.all(
      Array.from({ length: 200 }, async () => (await h.client.begin({})).txnId),
    );
    const on7 = ids.filter((id) => shardOf(id) === 7).length;
    assert.ok(on7 > 120 && on7 < 180, `${on7} of 200 on the shard of weight 3 (expected ≈ 150)`);
    assert.ok(ids.every((id) => [0, 7].includes(shardOf(id))));
    const answers = await Promise.all(ids.map((id) => h.client.commit(id)));
    assert.ok(answers.every((a) => a.outcome === 'COMMITTED'));
    for (const id of [0, 7]) {
      const rows = await sql<{ txn_id: string; state: string }>(
        `SELECT txn_id, state FROM ${schemas[id]}.twopc_transactions`,
      );
      assert.deepEqual(
        rows.map((r) => r.txn_id).sort(),
        ids.filter((t) => shardOf(t) === id).sort(),
        `shard ${id} holds exactly the transactions whose ids name it`,
      );
      assert.ok(rows.every((r) => r.state === 'COMMITTED'));
    }
    const one = ids.find((t) => shardOf(t) === 7)!;
    assert.equal((await h.client.get(one)).state, 'COMMITTED');
    // Begun concurrently, many share a millisecond: stored in whole milliseconds.
    const [row] = await sql<{ n: string }>(
      `SELECT count(*) AS n FROM ${schemas[7]}.twopc_transactions WHERE created_at <> date_trunc('milliseconds', created_at)`,
    );
    assert.equal(row?.n, '0');
  });

  it('ListTransactions merges the shards newest first; a page token goes on across a shard added mid-listing', async function () {
    const before = await allRows([0, 7]);
    assert.deepEqual(await pageThrough(7), before, 'pages of 7 over two shards');
    assert.deepEqual(await pageThrough(50), before);
    const listed = await pageThrough(9, async () => {
      // A shard added while a listing is under way: the next pages continue
      // where the token says, and the newer transactions (any shard) come
      // before the token, so they are not in the rest of this listing.
      await writeShards([
        { id: 0, weight: 1 },
        { id: 7, weight: 3 },
        { id: 12, weight: 2 },
      ]);
      await h.app.reloadShards();
      await eventually(
        async () => h.app.shards().find((s) => s.shard === 12)?.up,
        20_000,
        'shard 12 open',
      );
      const newer = await Promise.all(Array.from({ length: 60 }, () => h.client.begin({})));
      assert.ok(
        newer.some((t) => shardOf(t.txnId) === 12),
        'the new shard takes new transactions',
      );
      await Promise.all(newer.map((t) => h.client.commit(t.txnId)));
    });
    assert.deepEqual(listed, before, 'the listing begun before the change');
    assert.deepEqual(await pageThrough(11), await allRows([0, 7, 12]), 'a listing after it');
  });

  it('a transaction whose shard this coordinator does not have is UNAVAILABLE (never NOT_FOUND, which means aborted)', async function () {
    const elsewhere = '3b241101-e2bb-8063-8caf-4136c566a962'; // version 8, shard 0x063 = 99
    assert.equal(shardOf(elsewhere), 99);
    await expectStatus(h.client.get(elsewhere), grpc.status.UNAVAILABLE, /log shard 99/);
    await expectStatus(h.client.commit(elsewhere), grpc.status.UNAVAILABLE, /log shard 99/);
    // A version-4 id is shard 0's, and unknown there: NOT_FOUND as always.
    await expectStatus(h.client.get('3b241101-e2bb-4063-8caf-4136c566a962'), grpc.status.NOT_FOUND);
  });

  it('a drained shard takes no new transaction; removed from the file, it stays until its unfinished ones finish', async function () {
    const open = await beginOn(12);
    await writeShards([
      { id: 0, weight: 1 },
      { id: 7, weight: 1 },
      { id: 12, weight: 0 },
    ]);
    await h.app.reloadShards();
    const after = await Promise.all(Array.from({ length: 100 }, () => h.client.begin({})));
    assert.ok(
      after.every((t) => shardOf(t.txnId) !== 12),
      'none on the drained shard',
    );
    await Promise.all(after.map((t) => h.client.abort(t.txnId)));
    // Work already on it goes on.
    await h.client.heartbeat(open);
    await writeShards([
      { id: 0, weight: 1 },
      { id: 7, weight: 1 },
    ]);
    await h.app.reloadShards();
    const kept = h.app.shards().find((s) => s.shard === 12);
    assert.deepEqual(
      { weight: kept?.weight, up: kept?.up, schema: kept?.schema },
      { weight: 0, up: true, schema: schemas[12] },
      'kept, drained, while a transaction on it is unfinished',
    );
    // Operators watch it empty.
    const unfinished = async (shard: number): Promise<number | null> => {
      const text = await (await fetch(`http://${h.app.metricsAddress}/metrics`)).text();
      const m = new RegExp(
        `^twopc_log_shard_unfinished\\{shard="${shard}"[^}]*\\} (\\d+)`,
        'm',
      ).exec(text);
      return m === null ? null : Number(m[1]);
    };
    await eventually(
      async () => (await unfinished(12)) === 1,
      10_000,
      'shard 12 counts 1 unfinished',
    );
    assert.equal((await h.client.commit(open)).outcome, 'COMMITTED');
    await eventually(
      async () => h.app.shards().every((s) => s.shard !== 12),
      20_000,
      'shard 12 removed once empty',
    );
    await expectStatus(h.client.get(open), grpc.status.UNAVAILABLE, /log shard 12/);
    // Its transactions are no longer listed; the others all are.
    assert.deepEqual(await pageThrough(40), await allRows([0, 7]));
  });

  it('a shards file that cannot be used changes nothing and says why', async function () {
    const before = h.app.shards();
    await writeFile(file, JSON.stringify({ shards: [{ id: 0, url, weight: 0 }] }));
    await assert.rejects(h.app.reloadShards(), /no shard has weight/);
    await writeFile(
      file,
      JSON.stringify({
        shards: [{ id: 0, url: 'postgres://elsewhere/log', weight: 1, schema: schemas[0] }],
      }),
    );
    await h.app.reloadShards(); // refused for shard 0 (logged), 7 removed once empty
    assert.equal(
      h.app.shards().find((s) => s.shard === 0)?.database,
      before.find((s) => s.shard === 0)?.database,
    );
  });
});
