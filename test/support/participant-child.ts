import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FakeBehaviour } from './fake-participant.ts';

/** A call a participant process reported. */
export interface ChildCall {
  readonly method: 'Prepare' | 'Commit' | 'Abort';
  readonly txnId: string;
}

/** A participant running in its own process (see participant-process.ts). */
export class ParticipantChild {
  readonly name: string;
  readonly calls: ChildCall[] = [];
  endpoint = '';
  #child: ChildProcess | null = null;

  constructor(name: string) {
    this.name = name;
  }

  get ref(): { name: string; endpoint: string } {
    return { name: this.name, endpoint: this.endpoint };
  }

  /**
   * Starts the process: on `options.port` (a restart at the same address),
   * also serving the batched channel when `options.batched`.
   */
  async start(
    behaviour: FakeBehaviour = {},
    options: { port?: number; batched?: boolean } = {},
  ): Promise<this> {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/support/participant-process.ts',
        JSON.stringify({ name: this.name, behaviour, ...options }),
      ],
      {
        cwd: fileURLToPath(new URL('../../', import.meta.url)),
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    this.#child = child;
    let buffer = '';
    const listening = new Promise<number>((resolve, reject) => {
      child.once('exit', () => reject(new Error(`${this.name} exited before listening`)));
      child.stdout?.on('data', (d: Buffer) => {
        buffer += d.toString();
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = JSON.parse(buffer.slice(0, nl)) as { listening?: number } & ChildCall;
          buffer = buffer.slice(nl + 1);
          if (line.listening !== undefined) {
            resolve(line.listening);
          } else {
            this.calls.push({ method: line.method, txnId: line.txnId });
          }
        }
      });
    });
    this.endpoint = `127.0.0.1:${await listening}`;
    return this;
  }

  callsOf(method: ChildCall['method'], txnId: string): ChildCall[] {
    return this.calls.filter((c) => c.method === method && c.txnId === txnId);
  }

  signal(signal: NodeJS.Signals): void {
    this.#child?.kill(signal);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    this.#child = null;
  }
}
