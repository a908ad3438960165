import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTwopc } from '../support/child.ts';
import { freePort } from '../support/hooks.ts';

/** Every secret planted below holds this word; none may reach the output. */
const SECRET = /hunter/;

describe('database secrets never reach the log or a message (real processes)', function () {
  this.timeout(60_000);
  let dir: string;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'twopc-redact-'));
  });
  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('neither a password holding @ under an empty user name, nor ?password, sslpassword or sslkey', async function () {
    const port = await freePort();
    const key = join(dir, 'hunter4.key');
    await writeFile(key, 'not a key', { mode: 0o600 });
    for (const url of [
      `postgres://:pa@hunter1@127.0.0.1:${port}/x`,
      `postgres://u@127.0.0.1:${port}/x?password=hunter2&sslpassword=hunter3&sslkey=${encodeURIComponent(key)}`,
    ]) {
      const { code, output } = await runTwopc(['serve'], {
        DATABASE_URL: url,
        TWOPC_STARTUP_WAIT_MS: '600',
        TWOPC_LOG_LEVEL: 'debug',
      });
      assert.equal(code, 1, output);
      // The log line while it waits and the one-line failure both name the database.
      assert.match(output, /does not answer yet/);
      assert.match(output, /cannot reach DATABASE_URL \(postgres:\/\/[^)]*127\.0\.0\.1/);
      assert.doesNotMatch(output, SECRET, output);
    }
  });
});
