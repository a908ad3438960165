import assert from 'node:assert/strict';
import { HealthMonitor } from '../../src/participant/health-monitor.ts';
import type { HealthProbe } from '../../src/participant/health-probe.ts';
import { FakeClock } from '../../src/time/fake-clock.ts';

/** A probe whose answers the test sets per endpoint; counts calls. */
class FakeProbe implements HealthProbe {
  alive = new Map<string, boolean>();
  calls: string[] = [];
  async check(endpoint: string): Promise<boolean> {
    this.calls.push(endpoint);
    return this.alive.get(endpoint) ?? true;
  }
  close(): void {}
}

/** Advances the fake clock one tick at a time, letting probe answers settle. */
async function tick(clock: FakeClock, ms: number, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) {
    clock.advance(ms);
    await new Promise((r) => setImmediate(r));
  }
}

describe('HealthMonitor (fake clock)', function () {
  const config = { intervalMs: 1_000, missLimit: 3 };

  it('declares an endpoint DOWN after the miss limit, not before', async function () {
    const clock = new FakeClock();
    const probe = new FakeProbe();
    const monitor = new HealthMonitor(probe, clock, config);
    probe.alive.set('p:1', false);
    const watch = monitor.watch('p:1');
    let why: string | null = null;
    void watch.whenDown.then((w) => (why = w));
    await tick(clock, 1_000, 2);
    assert.equal(watch.down, false);
    await tick(clock, 1_000);
    assert.equal(watch.down, true);
    assert.equal(why, '3 heartbeats missed in a row (every 1000 ms)');
    watch.release();
  });

  it('checks an endpoint believed DOWN at once when asked, one check for every caller, and an answer brings it up', async function () {
    const clock = new FakeClock();
    const probe = new FakeProbe();
    const monitor = new HealthMonitor(probe, clock, config);
    probe.alive.set('p:1', false);
    const watch = monitor.watch('p:1');
    await tick(clock, 1_000, 3);
    assert.equal(watch.down, true);
    const before = probe.calls.length;
    assert.equal(await monitor.probeNow('p:1'), false, 'still away');
    assert.equal(watch.down, true);
    probe.alive.set('p:1', true); // restarted: no time passes on the clock
    let up = false;
    void watch.whenUp().then(() => (up = true));
    const answers = await Promise.all([monitor.probeNow('p:1'), monitor.probeNow('p:1')]);
    assert.deepEqual(answers, [true, true]);
    assert.equal(probe.calls.length, before + 2, 'one check per probeNow round, shared');
    assert.equal(watch.down, false);
    await new Promise((r) => setImmediate(r));
    assert.equal(up, true, 'parked phase 2 is woken');
    assert.equal(await monitor.probeNow('up:1'), true, 'an endpoint not DOWN is not checked');
    assert.equal(probe.calls.length, before + 2);
    watch.release();
  });

  it('never declares a slow but answering participant DOWN', async function () {
    const clock = new FakeClock();
    const probe = new FakeProbe();
    const monitor = new HealthMonitor(probe, clock, config);
    const watch = monitor.watch('slow:1');
    await tick(clock, 1_000, 30);
    assert.equal(watch.down, false);
    assert.equal(probe.calls.length, 30);
    watch.release();
  });

  it('resets the count on an answer, and wakes parked waiters when it is back', async function () {
    const clock = new FakeClock();
    const probe = new FakeProbe();
    const monitor = new HealthMonitor(probe, clock, config);
    probe.alive.set('p:1', false);
    const watch = monitor.watch('p:1');
    await tick(clock, 1_000, 2);
    probe.alive.set('p:1', true);
    await tick(clock, 1_000);
    probe.alive.set('p:1', false);
    await tick(clock, 1_000, 2);
    assert.equal(watch.down, false, 'misses must be consecutive');
    await tick(clock, 1_000);
    assert.equal(watch.down, true);
    let up = false;
    void watch.whenUp().then(() => (up = true));
    probe.alive.set('p:1', true);
    await tick(clock, 1_000);
    assert.equal(up, true);
    assert.equal(watch.down, false);
    watch.release();
  });

  it('runs one checker per endpoint, shared by every watcher, only while watched', async function () {
    const clock = new FakeClock();
    const probe = new FakeProbe();
    const monitor = new HealthMonitor(probe, clock, config);
    const watches = Array.from({ length: 50 }, () => monitor.watch('shared:1'));
    const other = monitor.watch('other:1');
    await tick(clock, 1_000, 3);
    assert.equal(monitor.checking, 2);
    assert.equal(probe.calls.filter((c) => c === 'shared:1').length, 3);
    watches.forEach((w) => w.release());
    other.release();
    assert.equal(monitor.checking, 0);
    await tick(clock, 1_000, 3);
    assert.equal(probe.calls.length, 6, 'no checks once nobody watches');
    assert.equal(clock.pendingCount, 0);
  });
});

describe('HealthMonitor: what it reports of endpoints nobody watches', function () {
  const config = { intervalMs: 1_000, missLimit: 3 };

  it('keeps checking an endpoint left DOWN until it answers, then reports it up', async function () {
    const clock = new FakeClock();
    const probe = new FakeProbe();
    const monitor = new HealthMonitor(probe, clock, config);
    probe.alive.set('p:1', false);
    const watch = monitor.watch('p:1');
    await tick(clock, 1_000, 3);
    assert.equal(watch.down, true);
    watch.release();
    assert.equal(monitor.states().get('p:1'), false, 'DOWN while it does not answer');
    await tick(clock, 1_000, 5);
    assert.equal(monitor.states().get('p:1'), false);
    probe.alive.set('p:1', true);
    await tick(clock, 1_000);
    assert.equal(monitor.states().get('p:1'), true, 'up once it answers, though nobody watches');
    assert.equal(monitor.checking, 0, 'then no longer checked');
    const calls = probe.calls.length;
    await tick(clock, 1_000, 5);
    assert.equal(probe.calls.length, calls);
    assert.equal(monitor.states().get('p:1'), true);
  });

  it('forgets nothing it reported: an endpoint released while up stays reported up', async function () {
    const clock = new FakeClock();
    const probe = new FakeProbe();
    const monitor = new HealthMonitor(probe, clock, config);
    const watch = monitor.watch('q:1');
    await tick(clock, 1_000);
    watch.release();
    assert.equal(monitor.checking, 0);
    assert.equal(monitor.states().get('q:1'), true);
  });
});
