import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// The compose stacks' PKI step: a directory per service with the CA and that
// service's own certificate and key, nothing of anyone else's.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the compose PKI step (write-demo-pki --per-service)', function () {
  this.timeout(60_000);

  it('gives each service the CA and its own key only, keys readable by their owner alone', async function () {
    const dir = await mkdtemp(join(tmpdir(), 'twopc-pki-'));
    try {
      await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'examples/write-demo-pki.ts', dir, '--per-service'],
        { cwd: ROOT },
      );
      const layout: Record<string, string[]> = {};
      for (const service of (await readdir(dir)).sort()) {
        layout[service] = (await readdir(join(dir, service))).sort();
      }
      assert.deepEqual(layout, {
        accounts: ['accounts.key', 'accounts.pem', 'ca.pem'],
        coordinator: [
          'ca.pem',
          'coordinator.key',
          'coordinator.pem',
          'identities.json',
          'participants.json',
        ],
        demo: ['ca.pem', 'shop.key', 'shop.pem'],
        inventory: ['ca.pem', 'inventory.key', 'inventory.pem'],
        operator: ['ca.pem', 'operator.key', 'operator.pem'],
      });
      for (const [service, files] of Object.entries(layout)) {
        for (const f of files.filter((x) => x.endsWith('.key'))) {
          assert.equal((await stat(join(dir, service, f))).mode & 0o777, 0o600, `${service}/${f}`);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
