import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { OwnPostgres } from '../support/own-postgres.ts';
import { runTwopc, TwopcProcess } from '../support/child.ts';
import { freshSchema, testDatabaseUrl } from '../support/db.ts';
import { freePort } from '../support/hooks.ts';

describe('twopc CLI (real processes)', function () {
  this.timeout(90_000);

  it('prints help and exits 0', async function () {
    const { code, output } = await runTwopc(['--help']);
    assert.equal(code, 0);
    assert.match(output, /twopc serve/);
    assert.match(output, /--prepare-timeout-ms/);
  });

  it('runs as the installed command from a checkout, built or not (bin/twopc.js)', async function () {
    const out = execFileSync(process.execPath, ['bin/twopc.js', '--help'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    }).toString();
    assert.match(out, /^Usage:/m);
    assert.match(out, /twopc tx/);
  });

  it('exits 2 with one line for an unknown flag, a bad port or an unknown command', async function () {
    for (const [args, message] of [
      [['serve', '--colour'], /Unknown option '--colour'/],
      [['serve', '--listen', '127.0.0.1:70000'], /--listen: '127.0.0.1:70000' is not host:port/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ] as const) {
      const { code, output } = await runTwopc([...args]);
      assert.equal(code, 2, output);
      assert.match(output, message);
      assert.equal(output.trim().split('\n').length, 1, output);
    }
  });

  it('exits 1 with one line when DATABASE_URL is unreachable (no start-up wait)', async function () {
    const port = await freePort();
    const { code, output } = await runTwopc(['serve'], {
      DATABASE_URL: `postgres://u:secret@127.0.0.1:${port}/x`,
      TWOPC_STARTUP_WAIT_MS: '0',
    });
    assert.equal(code, 1, output);
    assert.match(
      output,
      /cannot reach DATABASE_URL \(postgres:\/\/u:\*\*\*@127\.0\.0\.1:\d+\/x\): ECONNREFUSED/,
    );
    assert.doesNotMatch(output, /secret/);
  });

  it('names DATABASE_URL for a log behind a proxy with nothing behind it (ECONNRESET), after its start-up wait', async function () {
    // What HAProxy does before Patroni has a primary: accept, then reset.
    const proxy = createServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const port = (proxy.address() as AddressInfo).port;
      const { code, output } = await runTwopc(['serve'], {
        DATABASE_URL: `postgres://u:secret@127.0.0.1:${port}/x`,
        TWOPC_STARTUP_WAIT_MS: '1500',
        TWOPC_LOG_LEVEL: 'warn',
      });
      assert.equal(code, 1, output);
      assert.match(output, /the log \(DATABASE_URL\) does not answer yet; trying again/);
      assert.match(
        output,
        /cannot reach DATABASE_URL \(postgres:\/\/u:\*\*\*@127\.0\.0\.1:\d+\/x\): ECONNRESET \(tried for 1500 ms: --startup-wait-ms\)/,
      );
      assert.doesNotMatch(output, /secret/);
    } finally {
      proxy.close();
    }
  });

  it('started before its log is up, becomes ready once the log appears (a stack coming up cold)', async function () {
    const log = await OwnPostgres.create();
    await log.stop(); // not there yet
    const p = new TwopcProcess(['serve', '--listen', `127.0.0.1:${await freePort()}`], {
      DATABASE_URL: log.url(),
    });
    try {
      await p.waitFor(/the log \(DATABASE_URL\) does not answer yet/);
      await log.start();
      const address = await p.serving(60_000);
      const client = new TwopcClient(address);
      try {
        const { txnId } = await client.begin();
        assert.equal((await client.commit(txnId)).outcome, 'COMMITTED');
      } finally {
        client.close();
      }
      assert.equal((await p.kill('SIGTERM')).code, 0);
    } finally {
      p.child.kill('SIGKILL');
      await log.destroy();
    }
  });

  it('migrates with the migrate command, idempotently', async function () {
    const schema = await freshSchema(import.meta.url, 'cli-migrate');
    const env = { DATABASE_URL: await testDatabaseUrl(), TWOPC_DB_SCHEMA: schema };
    const first = await runTwopc(['migrate'], env);
    assert.equal(first.code, 0, first.output);
    assert.match(first.output, /applied 000001_init/);
    const second = await runTwopc(['migrate'], env);
    assert.match(second.output, /database is up to date/);
  });

  it('serves against DATABASE_URL and exits 0 on SIGTERM', async function () {
    const schema = await freshSchema(import.meta.url, 'cli-serve');
    const p = new TwopcProcess(['serve', '--listen', `127.0.0.1:${await freePort()}`], {
      DATABASE_URL: await testDatabaseUrl(),
      TWOPC_DB_SCHEMA: schema,
    });
    const address = await p.serving();
    const client = new TwopcClient(address);
    const { txnId } = await client.begin();
    assert.equal((await client.commit(txnId)).outcome, 'COMMITTED');
    client.close();
    const exit = await p.kill('SIGTERM');
    assert.equal(exit.code, 0, p.output);
    assert.match(p.output, /"msg":"stopped"/);
  });

  it('starts embedded PostgreSQL on a fresh directory, and again after being killed with SIGKILL', async function () {
    const dir = await mkdtemp(join(tmpdir(), 'twopc-cli-'));
    const env = {
      TWOPC_DATA_DIR: dir,
      TWOPC_EMBEDDED_PG_PORT: String(await freePort()),
      TWOPC_LISTEN: `127.0.0.1:${await freePort()}`,
    };
    try {
      const first = new TwopcProcess(['serve'], env);
      const address = await first.serving(60_000);
      const client = new TwopcClient(address);
      const { txnId } = await client.begin();
      client.close();
      await first.kill('SIGKILL');
      const leftover = Number(
        (await readFile(join(dir, 'pgdata', 'postmaster.pid'), 'utf8')).split('\n')[0],
      );
      assert.doesNotThrow(
        () => process.kill(leftover, 0),
        'the killed coordinator left its PostgreSQL running',
      );

      const second = new TwopcProcess(['serve'], env);
      const again = await second.serving(60_000);
      assert.match(second.output, /stopping PostgreSQL left over from a previous run/);
      const client2 = new TwopcClient(again);
      assert.equal((await client2.get(txnId)).state, 'ACTIVE', 'the log survived the kill');
      client2.close();
      assert.equal((await second.kill('SIGTERM')).code, 0, second.output);
      assert.ok(
        !existsSync(join(dir, 'pgdata', 'postmaster.pid')),
        'PostgreSQL was stopped on exit',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
