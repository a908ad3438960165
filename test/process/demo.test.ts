import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { TwopcProcess, restartableEnv } from '../support/child.ts';
import { freshSchema } from '../support/db.ts';
import { assertDemoOutcomes, runDemo } from '../support/demo-run.ts';

describe('npm run demo', function () {
  this.timeout(90_000);

  it('prints a committed and an aborted transaction and the final state, and exits 0', async function () {
    const dir = await mkdtemp(join(tmpdir(), 'twopc-demo-'));
    try {
      const { code, out } = await runDemo({
        TWOPC_DATA_DIR: dir,
      });
      assert.equal(code, 0, out);
      assertDemoOutcomes(out);
      // grpc-js names an IP as the TLS server name (grpc/grpc-node#1919): not the operator's concern.
      assert.doesNotMatch(out, /DEP0123|DeprecationWarning/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('honours OTEL_* as twopc serve does: OTEL_TRACES_EXPORTER=console prints its spans', async function () {
    const dir = await mkdtemp(join(tmpdir(), 'twopc-demo-'));
    try {
      const { code, out } = await runDemo({
        TWOPC_DATA_DIR: dir,
        OTEL_TRACES_EXPORTER: 'console',
      });
      assert.equal(code, 0, out);
      assert.match(out, /name: 'twopc\.transaction'/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs against a coordinator already serving (TWOPC_ADDRESS), whose list then shows its transactions', async function () {
    const dir = await mkdtemp(join(tmpdir(), 'twopc-demo-'));
    const coordinator = new TwopcProcess(
      ['serve'],
      await restartableEnv(await freshSchema(import.meta.url), 'demo-target'),
    );
    const address = await coordinator.serving();
    const client = new TwopcClient(address, { attempts: 1 });
    try {
      const { code, out } = await runDemo({
        TWOPC_ADDRESS: address,
        DATABASE_URL: '',
        TWOPC_DATA_DIR: dir,
      });
      assert.equal(code, 0, out);
      assert.match(out, /coordinator at .* \(plaintext\)/);
      const { transactions } = await client.list({ labels: { demo: 'shop' } });
      assert.deepEqual(transactions.map((t) => t.state).sort(), ['ABORTED', 'COMMITTED']);
    } finally {
      client.close();
      await coordinator.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      await rm(`${dir}-services`, { recursive: true, force: true });
    }
  });
});
