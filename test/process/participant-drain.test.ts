import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { TwopcParticipant } from 'twopc/internal/twopc-participant';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import { freePort } from '../support/hooks.ts';
import { readmeFiles } from '../support/readme-blocks.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The README's participant, run as its own process, its output kept line by line. */
class ReadmeParticipant {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  readonly #child: ChildProcess;
  readonly #dir: string;

  constructor(port: number, coordinator: string) {
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    // Inside the repository, so that `twopc` resolves to this SDK.
    this.#dir = mkdtempSync(join(ROOT, 'test-artifacts', 'readme-participant-'));
    const file = join(this.#dir, 'participant.ts');
    writeFileSync(file, readmeFiles().get('participant.ts') ?? '');
    this.#child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), TWOPC_ADDRESS: coordinator },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffer = '';
    this.#child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    this.exited = new Promise((resolve) =>
      this.#child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  /** Waits for a line of its output (each line is printed after what it says happened). */
  line(pattern: RegExp, what: string): Promise<string> {
    return eventually(async () => this.lines.find((l) => pattern.test(l)), 20_000, what);
  }

  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  async remove(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** An in-process participant whose Prepare waits until the test opens the gate. */
async function gatedParticipant(
  coordinator: string,
): Promise<{ ref: { name: string; endpoint: string }; open: () => void; stop: () => void }> {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const server = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const endpoint = `127.0.0.1:${port}`;
  const participant = new TwopcParticipant({
    name: 'payments',
    endpoint,
    coordinator,
    coordinatorOptions: { attempts: 1 },
    checkEveryMs: 0,
    handlers: {
      prepare: async () => {
        await gate;
        return { vote: 'PREPARED' };
      },
      commit: async () => undefined,
      abort: async () => undefined,
    },
  });
  participant.addTo(server);
  return {
    ref: { name: 'payments', endpoint },
    open,
    stop: () => {
      participant.close();
      server.forceShutdown();
    },
  };
}

// Issue: a participant asked to stop kept taking new work. The README's
// participant, sent SIGTERM while it holds a prepared branch, drains: a new
// transaction never prepares or commits on it (its Prepare, or one-phase
// Commit, is answered ABORT without reaching the handlers), the prepared
// branch is told its outcome, and then the process exits by itself.
describe('the README participant on SIGTERM (real processes)', function () {
  this.timeout(90_000);
  let h: Harness;
  const fleet = new FakeFleet();

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url), {
      prepareTimeoutMs: 60_000,
    });
  });
  after(async function () {
    await fleet.stopAll();
    await h.stop();
  });

  it('refuses new transactions, finishes the prepared one, then exits', async function () {
    const inventory = new ReadmeParticipant(await freePort(), h.app.address);
    const payments = await gatedParticipant(h.app.address);
    try {
      const port = (await inventory.line(/inventory participant on/, 'listening')).split(':').pop();
      const ref = { name: 'inventory', endpoint: `127.0.0.1:${port}` };
      const held = await h.client.begin({ participants: [ref, payments.ref] });
      const committing = h.client.commit(held.txnId, { waitForAcks: true });
      await inventory.line(new RegExp(`^prepare ${held.txnId}`), 'the held branch prepared');

      inventory.signal('SIGTERM');
      await inventory.line(/stopping/, 'draining');
      const other = await fleet.start('shipping');
      const solo = await h.client.begin({ participants: [ref] });
      const pair = await h.client.begin({ participants: [ref, other.ref] });
      const [soloAnswer, pairAnswer] = await Promise.all([
        h.client.commit(solo.txnId),
        h.client.commit(pair.txnId),
      ]);
      for (const answer of [soloAnswer, pairAnswer]) {
        assert.equal(answer.outcome, 'ABORTED');
        assert.match(answer.reason, /'inventory' is stopping/);
      }
      for (const txnId of [solo.txnId, pair.txnId]) {
        assert.equal(
          inventory.lines.filter((l) => l.includes(txnId) && !l.startsWith('abort')).length,
          0,
          'no new work reached its handlers',
        );
      }

      payments.open(); // the held transaction decides: COMMITTED, told to the draining participant
      const answer = await committing;
      assert.equal(answer.outcome, 'COMMITTED');
      await inventory.line(new RegExp(`^commit ${held.txnId}`), 'phase 2 of the held branch');
      assert.deepEqual(await inventory.exited, { code: 0, signal: null }, 'exits by itself');
      const tx = await h.client.get(held.txnId);
      assert.equal(tx.state, 'COMMITTED');
      assert.ok(tx.participants.every((p) => p.acknowledged));
    } finally {
      payments.stop();
      await inventory.remove();
    }
  });
});
