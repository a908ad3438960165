import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { eventually } from './expect-status.ts';
import { freePort } from './hooks.ts';
import { runAs } from './own-postgres.ts';

/** Debian's PgBouncer. */
export const PGBOUNCER = '/usr/sbin/pgbouncer';

/** A user PgBouncer knows (auth_file) and logs in to PostgreSQL as. */
export interface BouncerUser {
  readonly name: string;
  readonly password: string;
}

/**
 * PgBouncer (Debian's) in front of one PostgreSQL, run by the test as a
 * child process under an unprivileged user, with its own ini and auth file
 * in a temporary directory. Every database name is passed through.
 */
export class PgBouncer {
  readonly port: number;
  readonly #dir: string;
  readonly #child: ChildProcess;
  output = '';

  private constructor(port: number, dir: string, child: ChildProcess) {
    this.port = port;
    this.#dir = dir;
    this.#child = child;
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  /**
   * Starts PgBouncer and waits until it lets `users[0]` in.
   * @param settings lines of its [pgbouncer] section (pool_mode, default_pool_size…)
   */
  static async start(
    postgresPort: number,
    users: readonly BouncerUser[],
    settings: Record<string, string>,
  ): Promise<PgBouncer> {
    const ids = await runAs();
    const dir = await mkdtemp(join(tmpdir(), 'twopc-pgbouncer-'));
    const port = await freePort();
    const conf = {
      listen_addr: '127.0.0.1',
      listen_port: String(port),
      unix_socket_dir: '',
      auth_type: 'scram-sha-256',
      auth_file: join(dir, 'users.txt'),
      admin_users: users[0]?.name ?? '',
      max_client_conn: '200',
      ...settings,
    };
    const ini = [
      '[databases]',
      `* = host=127.0.0.1 port=${postgresPort}`,
      '[pgbouncer]',
      ...Object.entries(conf).map(([k, v]) => `${k} = ${v}`),
    ].join('\n');
    await writeFile(join(dir, 'pgbouncer.ini'), `${ini}\n`);
    await writeFile(
      join(dir, 'users.txt'),
      users.map((u) => `"${u.name}" "${u.password}"\n`).join(''),
      { mode: 0o600 },
    );
    if (ids.uid !== undefined && ids.gid !== undefined) {
      for (const f of ['', 'pgbouncer.ini', 'users.txt']) {
        await chown(join(dir, f), ids.uid, ids.gid);
      }
    }
    const child = spawn(PGBOUNCER, [join(dir, 'pgbouncer.ini')], {
      ...ids,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const bouncer = new PgBouncer(port, dir, child);
    const first = users[0];
    if (first !== undefined) {
      await eventually(
        async () => {
          if (child.exitCode !== null) {
            throw new Error(`pgbouncer exited at start:\n${bouncer.output}`);
          }
          const c = new pg.Client({ connectionString: bouncer.url(first, 'postgres') });
          c.on('error', () => undefined);
          return c.connect().then(
            async () => {
              await c.end();
              return true;
            },
            () => false,
          );
        },
        15_000,
        'pgbouncer lets its first user in',
      );
    }
    return bouncer;
  }

  /** A URL through the pooler. */
  url(user: BouncerUser, database: string): string {
    return `postgres://${user.name}:${user.password}@127.0.0.1:${this.port}/${database}`;
  }

  /** Runs a command on the admin console (simple protocol only), as an admin user. */
  async admin<R extends pg.QueryResultRow>(user: BouncerUser, command: string): Promise<R[]> {
    const c = new pg.Client({ connectionString: this.url(user, 'pgbouncer') });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return (await c.query<R>(command)).rows;
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  /** Stops PgBouncer and deletes its files. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      const exited = new Promise((r) => this.#child.once('exit', r));
      this.#child.kill('SIGTERM');
      await exited;
    }
    await rm(this.#dir, { recursive: true, force: true });
  }
}
