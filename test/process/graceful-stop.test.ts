import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { TwopcClient, TwopcParticipant } from 'twopc';
import { freePort } from '../support/hooks.ts';

// Stopping `npm start` however it is asked: Ctrl-C in a terminal (SIGINT to
// the whole process group: npm, its shell and the coordinator at once), or
// SIGINT/SIGTERM to npm's process alone. Each time the Commit in flight is
// answered, `stopped` is logged, npm exits 0, the embedded PostgreSQL is
// stopped by the coordinator (it runs in a session of its own, so the
// terminal's signal never reaches it) and nothing of the group is left.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

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

/** A participant whose Prepare waits until the test opens its gate. */
async function gatedParticipant(coordinator: string): Promise<{
  endpoint: string;
  entered: Promise<string>;
  open(): void;
  close(): void;
}> {
  const server = new grpc.Server();
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? rej(e) : res(p),
    ),
  );
  let enter: (txnId: string) => void = () => undefined;
  const entered = new Promise<string>((r) => (enter = r));
  let open: () => void = () => undefined;
  const gate = new Promise<void>((r) => (open = r));
  const participant = new TwopcParticipant({
    name: 'slow',
    endpoint: `127.0.0.1:${port}`,
    coordinator,
    checkEveryMs: 0,
    handlers: {
      prepare: async (txnId) => {
        enter(txnId);
        await gate;
        return { vote: 'PREPARED' };
      },
      commit: async () => undefined,
      abort: async () => undefined,
    },
  });
  participant.addTo(server);
  return {
    endpoint: `127.0.0.1:${port}`,
    entered,
    open,
    close: () => {
      participant.close();
      server.forceShutdown();
    },
  };
}

describe('stopping npm start gracefully, however it is asked (a real process group)', function () {
  this.timeout(120_000);
  let dir = '';

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'twopc-stop-'));
    await chmod(dir, 0o755);
  });

  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  const ways: [string, NodeJS.Signals, (npm: ChildProcess) => void][] = [
    [
      'Ctrl-C in a terminal (SIGINT to the whole group)',
      'SIGINT',
      (npm) => process.kill(-(npm.pid ?? 0), 'SIGINT'),
    ],
    ["SIGINT to npm's process", 'SIGINT', (npm) => npm.kill('SIGINT')],
    ["SIGTERM to npm's process", 'SIGTERM', (npm) => npm.kill('SIGTERM')],
  ];

  for (const [how, sent, stop] of ways) {
    it(`${how}: the running Commit is answered, PostgreSQL is stopped after it, stopped, exit 0, nothing left`, async function () {
      const port = await freePort();
      const npm = spawn(
        'npm',
        [
          'start',
          '--',
          '--listen',
          `127.0.0.1:${port}`,
          '--console-listen',
          '127.0.0.1:0',
          '--embedded-pg-port',
          String(await freePort()),
          '--data-dir',
          join(dir, 'data'),
        ],
        {
          cwd: ROOT,
          detached: true, // its own process group, as a terminal gives it
          env: { ...process.env, TWOPC_METRICS_LISTEN: '127.0.0.1:0', TWOPC_LOG_LEVEL: 'info' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
      npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
        npm.once('exit', (code, signal) => r({ code, signal })),
      );
      const pgid = npm.pid ?? 0;
      const address = `127.0.0.1:${port}`;
      const participant = await gatedParticipant(address);
      const client = new TwopcClient(address, { attempts: 1 });
      let postmaster = 0;
      try {
        await until(
          'twopc serving',
          () => /twopc serving/.test(output),
          () => output,
        );
        postmaster = Number(
          (await readFile(join(dir, 'data', 'pgdata', 'postmaster.pid'), 'utf8')).split('\n')[0],
        );
        assert.ok(alive(postmaster));
        const { txnId } = await client.begin();
        await client.enlist(txnId, { name: 'slow', endpoint: participant.endpoint });
        const commit = client.commit(txnId, { timeoutMs: 60_000 });
        assert.equal(await participant.entered, txnId);

        stop(npm);
        await until(
          'shutting down',
          () => /shutting down/.test(output),
          () => output,
        );
        assert.ok(alive(postmaster), 'PostgreSQL was stopped under the running coordinator');
        participant.open();

        assert.equal((await commit).outcome, 'COMMITTED');
        // npm passes the signal on, waits for the coordinator, then ends
        // itself with the same signal (as a shell expects); what it ran
        // exited 0, or npm would say so.
        const { code, signal } = await exited;
        assert.ok(code === 0 || signal === sent, `npm: code ${code}, signal ${signal}\n${output}`);
        assert.doesNotMatch(output, /npm error/);
        await until(
          'the whole group gone',
          () => !groupAlive(pgid),
          () => output,
        );
        // pg_ctl stop -w returns once the postmaster removed its pid file,
        // a moment before the process is gone.
        await until(
          'PostgreSQL gone',
          () => !alive(postmaster),
          () => output,
        );
        assert.match(output, /"msg":"stopped"/);
        assert.doesNotMatch(output, /exiting now/);
      } finally {
        client.close();
        participant.close();
        if (groupAlive(pgid)) {
          process.kill(-pgid, 'SIGKILL');
        }
        if (postmaster > 0 && alive(postmaster)) {
          process.kill(postmaster, 'SIGINT'); // its own session: not in the group
        }
      }
    });
  }
});
