import assert from 'node:assert/strict';
import { HealthMonitor } from '../../src/participant/health-monitor.ts';
import { GrpcHealthProbe } from '../../src/participant/health-probe.ts';
import { SystemClock } from 'twopc/internal/time/system-clock';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';

describe('participant health after a restart (real gRPC health checks)', function () {
  const fleet = new FakeFleet();
  after(async function () {
    await fleet.stopAll();
  });

  it('sees a restarted participant UP again within a probe interval plus the participant channel’s reconnect (2 s), though nobody watches it any more', async function () {
    this.timeout(40_000);
    const p = await fleet.start('restarting');
    const probe = new GrpcHealthProbe();
    const monitor = new HealthMonitor(probe, new SystemClock({ holdProcess: true }), {
      intervalMs: 200,
      missLimit: 3,
    });
    try {
      const watch = monitor.watch(p.endpoint);
      await eventually(async () => monitor.states().get(p.endpoint) === true, 5_000, 'up');
      await p.stop();
      await eventually(async () => watch.down, 5_000, 'DOWN');
      watch.release();
      // Long enough for grpc-js's default reconnect back-off (1 s, ×1.6 up to
      // 120 s) to have grown past the bound below.
      await new Promise((r) => setTimeout(r, 8_000));
      assert.equal(monitor.states().get(p.endpoint), false, 'still DOWN while it is gone');
      await p.start();
      const restarted = Date.now();
      await eventually(async () => monitor.states().get(p.endpoint) === true, 15_000, 'up again');
      const tookMs = Date.now() - restarted;
      assert.ok(tookMs <= 200 + 2_000 + 1_000, `UP again ${tookMs} ms after the restart`);
    } finally {
      monitor.close();
      probe.close();
    }
  });
});
