import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseTxId } from 'twopc/internal/contract/limits';
import { parseShards, ShardsFileError } from '../../src/shards-file.ts';
import { MAX_SHARD, newShardedTxnId, pickShard, shardOf } from '../../src/store/shard-id.ts';

describe('log shards: ids, routing and the shards file', function () {
  it('an id names its shard: version 4 for shard 0 (as an unsharded log), version 8 with the number otherwise', function () {
    for (const shard of [0, 1, 2, 15, 16, 255, 256, 4000, MAX_SHARD]) {
      for (let i = 0; i < 50; i++) {
        const made = newShardedTxnId([{ id: shard, weight: 1 }]);
        assert.ok(made !== null);
        assert.equal(made.shard, shard);
        assert.equal(parseTxId(made.txnId), made.txnId, 'a UUID the API accepts');
        assert.equal(made.txnId.charAt(14), shard === 0 ? '4' : '8');
        assert.match(made.txnId.charAt(19), /[89ab]/, 'RFC 9562 variant');
        assert.equal(shardOf(made.txnId), shard);
      }
    }
    // Ids handed out before shards existed (random v4) all live on shard 0.
    assert.equal(shardOf('3b241101-e2bb-4255-8caf-4136c566a962'), 0);
    assert.equal(shardOf('0191f3a0-6c1e-7cc1-9a4b-1f2e3d4c5b6a'), 0);
  });

  it('spreads keys by weight, never to a shard of weight 0', function () {
    const shards = [
      { id: 0, weight: 1 },
      { id: 1, weight: 3 },
      { id: 2, weight: 0 },
    ];
    const counts = new Map<number, number>();
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      const s = pickShard(randomBytes(16), shards);
      counts.set(s ?? -1, (counts.get(s ?? -1) ?? 0) + 1);
    }
    assert.equal(counts.get(2), undefined);
    const share = (counts.get(1) ?? 0) / N;
    assert.ok(share > 0.72 && share < 0.78, `shard 1's share ${share}, expected 0.75`);
    assert.equal(pickShard(randomBytes(16), [{ id: 3, weight: 0 }]), null);
  });

  it('adding a shard or changing one weight moves only the keys that go to or leave it (rendezvous)', function () {
    const keys = Array.from({ length: 5_000 }, () => randomBytes(16));
    const before = [
      { id: 0, weight: 1 },
      { id: 1, weight: 1 },
    ];
    const added = [...before, { id: 2, weight: 1 }];
    const drained = [
      { id: 0, weight: 0 },
      { id: 1, weight: 1 },
      { id: 2, weight: 1 },
    ];
    let moved = 0;
    for (const k of keys) {
      const a = pickShard(k, before);
      const b = pickShard(k, added);
      if (a !== b) {
        assert.equal(b, 2, 'a key moves only to the new shard');
        moved++;
      }
      const c = pickShard(k, drained);
      if (b !== c) {
        assert.equal(b, 0, 'only keys of the drained shard move');
      }
    }
    const share = moved / keys.length;
    assert.ok(share > 0.29 && share < 0.38, `moved ${share}, expected about 1/3`);
  });

  it('reads a shards file, refusing what would route wrongly with a message naming the fix', function () {
    const specs = parseShards(
      JSON.stringify({
        shards: [
          { id: 0, url: 'postgres://u:p@db0:5432/log', weight: 1 },
          { id: 5, url: 'postgresql://u:p@db5/log', weight: 0.5, schema: 'twopc_b' },
        ],
      }),
      'twopc',
    );
    assert.deepEqual(specs, [
      { id: 0, url: 'postgres://u:p@db0:5432/log', weight: 1, schema: 'twopc' },
      { id: 5, url: 'postgresql://u:p@db5/log', weight: 0.5, schema: 'twopc_b' },
    ]);
    const bad: [unknown, RegExp][] = [
      ['not json', /not JSON/],
      [{}, /expected \{"shards"/],
      [{ shards: [] }, /expected \{"shards"/],
      [
        { shards: [{ id: 4096, url: 'postgres://a/b', weight: 1 }] },
        /shards\[0\]\.id: .*0 to 4095/,
      ],
      [{ shards: [{ id: 1.5, url: 'postgres://a/b', weight: 1 }] }, /shards\[0\]\.id/],
      [
        { shards: [{ id: 1, url: 'mysql://a/b', weight: 1 }] },
        /shards\[0\]\.url: expected a postgres/,
      ],
      [
        { shards: [{ id: 1, url: 'postgres://a/b', weight: -1 }] },
        /weight: expected a number >= 0/,
      ],
      [{ shards: [{ id: 1, url: 'postgres://a/b', weight: 1, schema: 'X;' }] }, /schema/],
      [{ shards: [{ id: 1, url: 'postgres://a/b', weight: 1, pool: 3 }] }, /unknown key pool/],
      [{ shards: [{ id: 1, url: 'postgres://a/b', weight: 0 }] }, /no shard has weight/],
      [
        {
          shards: [
            { id: 1, url: 'postgres://a/b', weight: 1 },
            { id: 1, url: 'postgres://c/d', weight: 1 },
          ],
        },
        /shard 1 is named twice/,
      ],
      [
        {
          shards: [
            { id: 1, url: 'postgres://x:y@a:5432/b', weight: 1 },
            { id: 2, url: 'postgres://z@a/b?sslmode=require', weight: 1 },
          ],
        },
        /shards 1 and 2 name the same database and schema/,
      ],
    ];
    for (const [doc, message] of bad) {
      assert.throws(
        () => parseShards(typeof doc === 'string' ? doc : JSON.stringify(doc), 'twopc'),
        (err: unknown) => err instanceof ShardsFileError && message.test(err.message),
        `${JSON.stringify(doc)} → ${String(message)}`,
      );
    }
  });
});
