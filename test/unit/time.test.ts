import assert from 'node:assert/strict';
import { backoffMs } from 'twopc/internal/shared/backoff';
import { KeyedMutex } from 'twopc/internal/shared/keyed-mutex';
import { sleep } from 'twopc/internal/time/clock';
import { FakeClock } from '../../src/time/fake-clock.ts';

describe('backoff, clock and mutex', function () {
  it('backs off exponentially with jitter, up to the cap', function () {
    const policy = { baseMs: 100, capMs: 1_000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 50].map((a) => backoffMs(policy, a, () => 0)),
      [50, 100, 200, 400, 500, 500],
    );
    assert.deepEqual(
      [1, 2, 3, 4, 5, 50].map((a) => backoffMs(policy, a, () => 1)),
      [100, 200, 400, 800, 1000, 1000],
    );
  });

  it('runs fake-clock callbacks in time order only when advanced', async function () {
    const clock = new FakeClock();
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(2), 200);
    clock.setTimeout(() => seen.push(1), 100);
    const cancel = clock.setTimeout(() => seen.push(3), 150);
    cancel();
    clock.advance(99);
    assert.deepEqual(seen, []);
    clock.advance(101);
    assert.deepEqual(seen, [1, 2]);
    assert.equal(clock.now(), 200);
  });

  it('sleeps on the clock and wakes early when aborted', async function () {
    const clock = new FakeClock();
    const controller = new AbortController();
    const slept = sleep(clock, 1_000, controller.signal);
    controller.abort();
    assert.equal(await slept, false);
    assert.equal(clock.pendingCount, 0);
    const full = sleep(clock, 1_000);
    clock.advance(1_000);
    assert.equal(await full, true);
  });

  it('serializes work per key but not across keys', async function () {
    const mutex = new KeyedMutex<string>();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = mutex.run('k', async () => {
      await gate;
      order.push('k1');
    });
    const second = mutex.run('k', async () => {
      order.push('k2');
    });
    await mutex.run('other', async () => {
      order.push('other');
    });
    release();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['other', 'k1', 'k2']);
  });
});

describe('WarnLimiter', function () {
  it('lets one warning per key through per period and counts the rest', async function () {
    const { WarnLimiter } = await import('../../src/telemetry/warn-limiter.ts');
    const clock = new FakeClock();
    const limiter = new WarnLimiter(clock, 1_000);
    assert.equal(limiter.allow('p'), 0);
    assert.equal(limiter.allow('p'), null);
    assert.equal(limiter.allow('p'), null);
    assert.equal(limiter.allow('q'), 0);
    clock.advance(1_000);
    assert.equal(limiter.allow('p'), 2);
  });
});
