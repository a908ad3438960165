import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/store/embedded-postgres-server.ts';
import type { EmbeddedServer } from '../../src/store/embedded-postgres-server.ts';
import { LEGACY_PASSWORD } from '../../src/store/embedded-postgres-secret.ts';
import { freePort } from '../support/hooks.ts';

/**
 * A connection attempt made as another local account (`nobody`, through
 * runuser): the node-postgres client, in a process of that user's.
 * @returns 'connected', or the error's SQLSTATE or message
 */
function connectAsNobody(port: number, password: string): string {
  const script = `
    const { Client } = require(${JSON.stringify(require.resolve('pg'))});
    const c = new Client({ host: '127.0.0.1', port: ${port}, user: 'postgres', database: 'postgres', password: process.env.PW });
    c.connect().then(() => c.query('SELECT 1')).then(() => { console.log('connected'); return c.end(); },
      (e) => { console.log(e.code ?? e.message); process.exitCode = 0; });`;
  const run = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', script], {
    env: { PATH: process.env.PATH, PW: password },
    encoding: 'utf8',
    timeout: 15_000,
  });
  assert.equal(run.status, 0, `${run.signal} ${run.error?.message} ${run.stdout} ${run.stderr}`);
  return run.stdout.trim();
}

const require = (await import('node:module')).createRequire(import.meta.url);

describe('the embedded PostgreSQL: a secret of its data directory, not a guessable password', function () {
  this.timeout(120_000);
  let dir: string;
  let server: EmbeddedServer | null = null;
  let port: number;

  before(async function () {
    if (process.getuid?.() !== 0) {
      this.skip(); // connecting as another OS user needs root (runuser)
    }
    dir = await mkdtemp(join(tmpdir(), 'twopc-secret-'));
    // nobody must reach node and the pg package, not the data directory.
    await chmod(dir, 0o755);
    port = await freePort();
  });
  afterEach(async function () {
    await server?.stop();
    server = null;
  });
  after(async function () {
    if (dir !== undefined) {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a new data directory gets a random secret (0600); another OS user cannot connect with the old password', async function () {
    server = await startEmbeddedPostgres({ dataDir: dir, port, log: () => undefined });
    assert.equal(connectAsNobody(port, LEGACY_PASSWORD), '28P01');
    const file = join(dir, 'postgres-password');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const secret = (await readFile(file, 'utf8')).trim();
    assert.match(secret, /^[0-9a-f]{48}$/);
    assert.equal(new URL(server.url).password, secret);
    assert.equal(existsSync(join(dir, 'initdb-tmp')), false);
    assert.equal(connectAsNobody(port, 'postgres'), '28P01');
    // Reading the secret is what it takes, and nobody cannot.
    const cat = spawnSync('runuser', ['-u', 'nobody', '--', 'cat', file], { encoding: 'utf8' });
    assert.notEqual(cat.status, 0);
    assert.equal(connectAsNobody(port, secret), 'connected');
  });

  it('a data directory made with the old password is moved to a secret at its next start', async function () {
    // The previous test's directory, put back as an older release left it.
    server = await startEmbeddedPostgres({ dataDir: dir, port, log: () => undefined });
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`ALTER ROLE postgres PASSWORD '${LEGACY_PASSWORD}'`);
    await admin.end();
    await server.stop();
    server = null;
    await unlink(join(dir, 'postgres-password'));
    assert.equal(connectAsNobody(port, LEGACY_PASSWORD), 'ECONNREFUSED');

    const warnings: string[] = [];
    server = await startEmbeddedPostgres({
      dataDir: dir,
      port,
      log: () => undefined,
      warn: (m) => warnings.push(m),
    });
    assert.match(warnings.join('\n'), /had the old fixed password; it now has a secret of its own/);
    const secret = (await readFile(join(dir, 'postgres-password'), 'utf8')).trim();
    assert.equal(new URL(server.url).password, secret);
    assert.equal(connectAsNobody(port, LEGACY_PASSWORD), '28P01');
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.end();
  });

  it('a start after a crash in the middle of that move stops the left-over server and finishes it', async function () {
    server = await startEmbeddedPostgres({ dataDir: dir, port, log: () => undefined });
    // Killed after setting the new secret, before naming its file: the
    // server is left running and the secret is still the pending one.
    const pending = 'ab'.repeat(24);
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`ALTER ROLE postgres PASSWORD '${pending}'`);
    await admin.end();
    await unlink(join(dir, 'postgres-password'));
    await writeFile(join(dir, 'postgres-password.new'), `${pending}\n`, { mode: 0o600 });
    server = null; // left over, as after SIGKILL

    const warnings: string[] = [];
    server = await startEmbeddedPostgres({
      dataDir: dir,
      port,
      log: () => undefined,
      warn: (m) => warnings.push(m),
    });
    assert.match(warnings.join('\n'), /stopping PostgreSQL left over from a previous run/);
    assert.equal((await readFile(join(dir, 'postgres-password'), 'utf8')).trim(), pending);
    assert.equal(existsSync(join(dir, 'postgres-password.new')), false);
    assert.equal(connectAsNobody(port, LEGACY_PASSWORD), '28P01');
    assert.equal(connectAsNobody(port, pending), 'connected');
  });
});
