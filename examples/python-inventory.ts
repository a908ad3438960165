// The Python inventory service (examples/python/inventory.py) run as a child
// process: what the demo starts with --python, and what its tests drive.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Debian's interpreter, where python3-grpcio and python3-grpc-tools install. */
export const PYTHON = process.env.TWOPC_PYTHON ?? '/usr/bin/python3';
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SCRIPT = 'examples/python/inventory.py';

export interface PythonInventoryOptions {
  /** The coordinator's host:port. */
  readonly coordinator: string;
  /** Its SQLite file (stock and branches). */
  readonly db: string;
  /** The participant name it enlists under (default inventory-py). */
  readonly name?: string;
  /** Seconds before a branch without an outcome is checked with GetTransaction. */
  readonly checkAfterS?: number;
  /** Mutual TLS: the CA, and its certificate and key (as server and as client). */
  readonly tls?: { caFile: string; certFile: string; keyFile: string };
}

/** The Python inventory service in a process of its own. */
export class PythonInventory {
  readonly #options: PythonInventoryOptions;
  #child: ChildProcess | null = null;
  /** The port it serves on (kept across restarts). */
  port = 0;

  constructor(options: PythonInventoryOptions) {
    this.#options = options;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts it and waits until it serves. @throws Error when it exits first */
  async start(): Promise<this> {
    const o = this.#options;
    mkdirSync(dirname(o.db), { recursive: true });
    const tls =
      o.tls === undefined
        ? []
        : ['--tls-ca', o.tls.caFile, '--tls-cert', o.tls.certFile, '--tls-key', o.tls.keyFile];
    const child = spawn(
      PYTHON,
      [
        SCRIPT,
        '--coordinator',
        o.coordinator,
        '--listen',
        `127.0.0.1:${this.port}`,
        '--db',
        o.db,
        '--name',
        o.name ?? 'inventory-py',
        '--check-after',
        String(o.checkAfterS ?? 30),
        ...tls,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.#child = child;
    const first = await createInterface({ input: child.stdout as NodeJS.ReadableStream })
      [Symbol.asyncIterator]()
      .next();
    if (first.done === true) {
      throw new Error(
        `${SCRIPT} exited before serving (its error is above; it needs ${PYTHON} with python3-grpcio and python3-grpc-tools)`,
      );
    }
    this.port = (JSON.parse(String(first.value)) as { listening: number }).listening;
    return this;
  }

  /** Kills it with `signal` (SIGKILL: a crash) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    }
  }

  /** The stock, read from its SQLite file. */
  async quantities(): Promise<Record<string, number>> {
    const child = spawn(
      PYTHON,
      [SCRIPT, '--coordinator', '-', '--db', this.#options.db, '--stock'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    if (code !== 0) {
      throw new Error(`${SCRIPT} --stock exited with ${String(code)}`);
    }
    return JSON.parse(out) as Record<string, number>;
  }
}
