import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testDatabaseUrl } from './db.ts';
import { freePort } from './hooks.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A child process that ended differently than expected. */
export class ChildProcessError extends Error {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
  constructor(message: string, code: number | null, signal: NodeJS.Signals | null, output: string) {
    super(`${message} (code ${code}, signal ${signal})\n${output.slice(-3000)}`);
    this.code = code;
    this.signal = signal;
    this.output = output;
  }
}

/** A `twopc` CLI process run through tsx. */
export class TwopcProcess {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** @param root the checkout to run (another release's worktree, say); this one by default */
  constructor(args: string[], env: Record<string, string> = {}, root: string = ROOT) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: root,
      env: { ...process.env, TWOPC_LOG_LEVEL: 'info', TWOPC_METRICS_LISTEN: '127.0.0.1:0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  /** Waits until the output matches (or the process exits first). */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const start = Date.now();
    for (;;) {
      const m = this.output.match(pattern);
      if (m !== null) {
        return m;
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new ChildProcessError(
          `exited before printing ${pattern}`,
          this.child.exitCode,
          this.child.signalCode,
          this.output,
        );
      }
      if (Date.now() - start > timeoutMs) {
        throw new ChildProcessError(
          `did not print ${pattern} within ${timeoutMs} ms`,
          null,
          null,
          this.output,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits for "twopc serving" and returns the gRPC address. */
  async serving(timeoutMs = 30_000): Promise<string> {
    const m = await this.waitFor(/"address":"([^"]+)"[^\n]*twopc serving/, timeoutMs);
    return m[1] ?? '';
  }

  /** Sends a signal and waits for the exit. */
  async kill(
    signal: NodeJS.Signals,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill(signal);
    return this.exited;
  }
}

/** Runs the CLI to completion. */
export async function runTwopc(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  const p = new TwopcProcess(args, env);
  const { code } = await p.exited;
  return { code, output: p.output };
}

/**
 * Environment of a coordinator process that tests kill and restart: one
 * schema, one address and one name across restarts (so a restart takes over
 * at once), fast retries.
 */
export async function restartableEnv(
  schema: string,
  name: string,
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  return {
    DATABASE_URL: await testDatabaseUrl(),
    TWOPC_DB_SCHEMA: schema,
    TWOPC_LISTEN: `127.0.0.1:${await freePort()}`,
    TWOPC_COORDINATOR_NAME: name,
    TWOPC_RETRY_BASE_MS: '20',
    TWOPC_RETRY_CAP_MS: '200',
    ...extra,
  };
}

/** Settings of coordinators that take over each other's work fast (tests of faults). */
export function fastTakeoverEnv(leaseMs: number): Record<string, string> {
  return {
    TWOPC_COORDINATOR_LEASE_MS: String(leaseMs),
    TWOPC_RECOVERY_INTERVAL_MS: '500',
    TWOPC_SWEEP_INTERVAL_MS: '200',
    TWOPC_PREPARE_TIMEOUT_MS: '3000',
    TWOPC_CALL_TIMEOUT_MS: '2000',
    TWOPC_HEARTBEAT_INTERVAL_MS: '250',
  };
}

/** Coordinator processes of one logical service, each started (and restarted) from its environment. */
export class CoordinatorFleet {
  readonly envs: Record<string, string>[];
  readonly #procs: TwopcProcess[] = [];

  constructor(envs: Record<string, string>[]) {
    this.envs = envs;
  }

  /**
   * Two coordinators, `a` and `b`, sharing `common` (their log, timings),
   * each on a free loopback port, with the retries fast as fault tests want.
   */
  static async pair(common: Record<string, string>): Promise<CoordinatorFleet> {
    const env = { TWOPC_RETRY_BASE_MS: '50', TWOPC_RETRY_CAP_MS: '500', ...common };
    return new CoordinatorFleet([
      { ...env, TWOPC_LISTEN: `127.0.0.1:${await freePort()}`, TWOPC_COORDINATOR_NAME: 'a' },
      { ...env, TWOPC_LISTEN: `127.0.0.1:${await freePort()}`, TWOPC_COORDINATOR_NAME: 'b' },
    ]);
  }

  /** Every coordinator's gRPC address. */
  get addresses(): string[] {
    return this.envs.map((e) => e.TWOPC_LISTEN ?? '');
  }

  /** The gRPC target that balances over all of them. */
  get target(): string {
    return `ipv4:${this.addresses.join(',')}`;
  }

  /** Starts coordinator `i` (from the checkout at `root`) and waits until it serves. */
  async start(i: number, timeoutMs = 30_000, root?: string): Promise<TwopcProcess> {
    const p = new TwopcProcess(['serve'], this.envs[i], root);
    this.#procs.push(p);
    await p.serving(timeoutMs);
    return p;
  }

  /** Kills every process started (a paused one too). */
  killAll(): void {
    for (const p of this.#procs) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
    }
  }
}
