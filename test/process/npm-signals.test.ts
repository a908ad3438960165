import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshSchema, testDatabaseUrl } from '../support/db.ts';
import { freePort } from '../support/hooks.ts';

// The coordinator under npm (`npm start`, `npx twopc serve`), in a process
// group of its own as a terminal gives it. npm passes SIGINT and SIGTERM on
// but dies of SIGHUP: a reload goes to the coordinator's own pid (logged),
// and a SIGHUP sent to npm (or a closed terminal) never leaves a coordinator
// behind. Ctrl-C stops `npx twopc serve` with exit 0, as it does `npm start`.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean, output: () => string): Promise<void> {
  for (const start = Date.now(); !check();) {
    if (Date.now() - start > 60_000) {
      throw new Error(`${what} did not happen:\n${output().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A command run by npm in a process group of its own, with its output and exit. */
function launch(
  args: string[],
  env: NodeJS.ProcessEnv,
): {
  npm: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
} {
  const npm = spawn(args[0]!, args.slice(1), {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, TWOPC_METRICS_LISTEN: '127.0.0.1:0', TWOPC_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  npm.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  npm.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    npm.once('exit', (code, signal) => r({ code, signal })),
  );
  return { npm, output: () => output, exited };
}

describe('the coordinator under npm: SIGHUP and Ctrl-C (a real process group)', function () {
  this.timeout(120_000);
  let dir = '';

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'twopc-npm-'));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('npm start: SIGHUP to the logged pid re-reads the shards file; SIGHUP to npm stops the coordinator, nothing left', async function () {
    const shards = join(dir, 'shards.json');
    await writeFile(
      shards,
      JSON.stringify({
        shards: [
          {
            id: 0,
            url: await testDatabaseUrl(),
            schema: await freshSchema(import.meta.url, 'hup'),
            weight: 1,
          },
        ],
      }),
    );
    const { npm, output, exited } = launch(
      [
        'npm',
        'start',
        '--',
        '--listen',
        `127.0.0.1:${await freePort()}`,
        '--console-listen',
        '127.0.0.1:0',
      ],
      { TWOPC_LOG_SHARDS: shards },
    );
    const pgid = npm.pid ?? 0;
    try {
      await until('twopc serving', () => /twopc serving/.test(output()), output);
      const pid = Number(/"pid":(\d+)/.exec(output())?.[1]);
      assert.ok(pid > 0 && pid !== npm.pid, output());
      process.kill(pid, 'SIGHUP');
      await until('shards file applied', () => /shards file applied/.test(output()), output);

      npm.kill('SIGHUP'); // npm dies of it, and does not pass it on
      assert.equal((await exited).signal, 'SIGHUP');
      await until('the coordinator gone', () => !groupAlive(pgid), output);
      assert.match(output(), /npm, which started this coordinator, is gone/);
      assert.match(output(), /"msg":"stopped"/);
    } finally {
      if (groupAlive(pgid)) {
        process.kill(-pgid, 'SIGKILL');
      }
    }
  });

  it('npx twopc serve: Ctrl-C (SIGINT to the whole group) stops it, and npx exits 0', async function () {
    const { npm, output, exited } = launch(
      ['npx', 'twopc', 'serve', '--listen', `127.0.0.1:${await freePort()}`],
      {
        DATABASE_URL: await testDatabaseUrl(),
        TWOPC_DB_SCHEMA: await freshSchema(import.meta.url, 'npx'),
      },
    );
    const pgid = npm.pid ?? 0;
    try {
      await until('twopc serving', () => /twopc serving/.test(output()), output);
      process.kill(-pgid, 'SIGINT');
      const { code, signal } = await exited;
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, output());
      await until('the whole group gone', () => !groupAlive(pgid), output);
      assert.match(output(), /"msg":"stopped"/);
    } finally {
      if (groupAlive(pgid)) {
        process.kill(-pgid, 'SIGKILL');
      }
    }
  });
});
