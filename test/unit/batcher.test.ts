import assert from 'node:assert/strict';
import { Batcher } from '../../src/store/batcher.ts';

describe('Batcher (group commit)', function () {
  it('flushes at once when idle, and batches what arrives while a flush is in flight', async function () {
    const flushed: number[][] = [];
    let release: () => void = () => undefined;
    const batcher = new Batcher<number, string>(async (items) => {
      flushed.push(items);
      if (flushed.length === 1) {
        await new Promise<void>((r) => (release = r));
      }
      return items.map((i) => `r${i}`);
    });
    const first = batcher.submit(1);
    const rest = [2, 3, 4].map((i) => batcher.submit(i));
    release();
    assert.deepEqual(await Promise.all([first, ...rest]), ['r1', 'r2', 'r3', 'r4']);
    assert.deepEqual(flushed, [[1], [2, 3, 4]]);
  });

  it('gives every caller its own result, in submission order', async function () {
    const batcher = new Batcher<number, number>(async (items) => items.map((i) => i * 10));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => batcher.submit(i)));
    assert.deepEqual(
      results,
      Array.from({ length: 20 }, (_, i) => i * 10),
    );
  });

  it('fails every caller of a failed flush, and keeps serving', async function () {
    let fail = true;
    const batcher = new Batcher<number, number>(async (items) => {
      if (fail) {
        throw new Error('store down');
      }
      return items;
    });
    await assert.rejects(batcher.submit(1), /store down/);
    fail = false;
    assert.equal(await batcher.submit(2), 2);
  });

  it('caps a batch at its maximum', async function () {
    const sizes: number[] = [];
    let release: () => void = () => undefined;
    const batcher = new Batcher<number, number>(async (items) => {
      sizes.push(items.length);
      if (sizes.length === 1) {
        await new Promise<void>((r) => (release = r));
      }
      return items;
    }, 3);
    const all = [batcher.submit(0), ...Array.from({ length: 7 }, (_, i) => batcher.submit(i + 1))];
    release();
    await Promise.all(all);
    assert.deepEqual(sizes, [1, 3, 3, 1]);
  });
});

describe('Batcher: one bad item fails only itself', function () {
  it('writes each item alone when a batch fails for its data, so the others succeed', async function () {
    const flushed: number[][] = [];
    let release: () => void = () => undefined;
    const refused = new Error('refused for its data');
    const batcher = new Batcher<number, string>(
      async (items) => {
        flushed.push(items);
        if (flushed.length === 1) {
          await new Promise<void>((r) => (release = r));
        }
        if (items.includes(3)) {
          throw refused;
        }
        return items.map((i) => `r${i}`);
      },
      256,
      (err) => err === refused,
    );
    const first = batcher.submit(1);
    const rest = [2, 3, 4].map((i) => batcher.submit(i));
    release();
    const results = await Promise.allSettled([first, ...rest]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : 'refused')),
      ['r1', 'r2', 'refused', 'r4'],
    );
    assert.deepEqual(flushed, [[1], [2, 3, 4], [2], [3], [4]]);
  });

  it('fails the whole batch for any other error (the store is down for everyone)', async function () {
    const down = new Error('connection lost');
    const batcher = new Batcher<number, string>(
      async () => {
        throw down;
      },
      256,
      () => false,
    );
    const results = await Promise.allSettled([1, 2].map((i) => batcher.submit(i)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
  });
});
