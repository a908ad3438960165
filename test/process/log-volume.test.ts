import assert from 'node:assert/strict';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { TwopcProcess, restartableEnv } from '../support/child.ts';
import { freshSchema, sql } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';

describe('log volume: repetitive lines are rate limited', function () {
  this.timeout(60_000);

  it('logs a burst of expired leases in a line or two, not one per transaction', async function () {
    const schema = await freshSchema(import.meta.url);
    const env = await restartableEnv(schema, 'log-volume', { TWOPC_SWEEP_INTERVAL_MS: '100' });
    const coordinator = new TwopcProcess(['serve'], env);
    const address = await coordinator.serving();
    const client = new TwopcClient(address, { attempts: 1 });
    try {
      // Leases run out over 3 s, across some thirty sweeps.
      await Promise.all(
        Array.from({ length: 300 }, (_, i) => client.begin({ timeoutMs: 200 + (i % 10) * 300 })),
      );
      await eventually(
        async () => {
          const [r] = await sql<{ n: number }>(
            schema,
            "SELECT count(*)::int AS n FROM twopc_transactions WHERE state = 'ABORTED' AND reason = 'LEASE_EXPIRED'",
          );
          return r?.n === 300;
        },
        30_000,
        'every lease expired',
      );
      const lines = coordinator.output.split('\n').filter((l) => l.includes('leases expired'));
      assert.ok(lines.length >= 1 && lines.length <= 2, `${lines.length} lines for 300 expiries`);
    } finally {
      client.close();
      await coordinator.kill('SIGKILL');
    }
  });
});
