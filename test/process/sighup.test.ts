import assert from 'node:assert/strict';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { TwopcProcess, restartableEnv } from '../support/child.ts';
import { freshSchema } from '../support/db.ts';

// SIGHUP re-reads the shards file. A coordinator with one log has none: a
// SIGHUP sent to it by habit (a reload script, a service manager's reload,
// a closed terminal) must not kill it, as Node's default action would.
describe('SIGHUP to a coordinator without --log-shards (a real process, a real signal)', function () {
  this.timeout(60_000);
  let coordinator: TwopcProcess | null = null;

  afterEach(async function () {
    if (coordinator !== null && coordinator.child.exitCode === null) {
      await coordinator.kill('SIGKILL');
    }
    coordinator = null;
  });

  it('says there is nothing to reload and keeps serving: a Begin and a Commit after it are answered', async function () {
    const env = await restartableEnv(await freshSchema(import.meta.url), 'sighup');
    const c = new TwopcProcess(['serve'], env);
    coordinator = c;
    const address = await c.serving();
    c.child.kill('SIGHUP');
    await c.waitFor(/SIGHUP reloads only the shards file[^\n]*there is none/);
    const client = new TwopcClient(address, { attempts: 1 });
    try {
      const { txnId } = await client.begin({});
      const answer = await client.commit(txnId);
      assert.equal(answer.outcome, 'COMMITTED', answer.reason);
    } finally {
      client.close();
    }
    assert.equal(c.child.exitCode, null, c.output);
    assert.equal(c.child.signalCode, null, c.output);
    const stopped = await c.kill('SIGTERM');
    assert.deepEqual(stopped, { code: 0, signal: null }, c.output);
  });
});
