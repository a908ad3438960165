// A bank in Python (test/python/bank_service.py: the twopc Python package's
// PgParticipant behind its participant helper, threads or grpc.aio), in a
// process of its own, driven like the TypeScript bank (test/support/bank.ts).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PYTHON } from '../../examples/python-inventory.ts';
import { BankProcess } from '../support/bank.ts';
import type { BankProcess as Bank } from '../support/bank.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export class PythonBank extends BankProcess {
  readonly #aio: boolean;
  #child: ChildProcess | null = null;

  constructor(name: string, url: string, aio = false) {
    super(name, url);
    this.#aio = aio;
  }

  override async start(coordinator: string): Promise<void> {
    const spec = {
      name: this.name,
      databaseUrl: this.url,
      coordinator,
      port: this.port,
      aio: this.#aio,
    };
    const child = spawn(PYTHON, ['test/python/bank_service.py', JSON.stringify(spec)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.#child = child;
    this.port = await new Promise<number>((resolve, reject) => {
      child.once('exit', () => reject(new Error(`${this.name} (Python) exited at start`)));
      child.stdout.once('data', (d: Buffer) =>
        resolve((JSON.parse(d.toString()) as { listening: number }).listening),
      );
    });
    if (this.stub === null) {
      const def = grpc.loadPackageDefinition(
        protoLoader.loadSync(fileURLToPath(new URL('../support/bank.proto', import.meta.url))),
      );
      const Ctor = ((def.bank as grpc.GrpcObject).v1 as grpc.GrpcObject)
        .Bank as grpc.ServiceClientConstructor;
      this.stub = new Ctor(
        `127.0.0.1:${this.port}`,
        grpc.credentials.createInsecure(),
      ) as unknown as Bank['stub'];
    }
  }

  /** SIGKILL (a crash), or another signal (SIGTERM: it drains), and waits for the exit. */
  override async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    }
  }
}
