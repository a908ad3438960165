import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { eventually } from './expect-status.ts';
import { freePort } from './hooks.ts';

const run = promisify(execFile);
const MARIADBD = '/usr/sbin/mariadbd';

/** Options of a test's own MariaDB server. */
export interface OwnMariaDbOptions {
  /** The binary log on (XA then goes through its two-phase commit with InnoDB). Default true. */
  readonly binlog?: boolean;
}

/**
 * A MariaDB server (Debian's `mariadb-server`) that a test owns: its own
 * data directory and port, started, SIGKILLed (crash recovery on the next
 * start) and restarted on the same port. Runs as root with `--user=root`.
 */
export class OwnMariaDb {
  readonly port: number;
  readonly #dir: string;
  readonly #binlog: boolean;
  #child: ChildProcess | null = null;

  private constructor(port: number, dir: string, binlog: boolean) {
    this.port = port;
    this.#dir = dir;
    this.#binlog = binlog;
  }

  /** Initialises a data directory (mariadb-install-db) in a temporary directory and starts the server. */
  static async create(options: OwnMariaDbOptions = {}): Promise<OwnMariaDb> {
    const dir = await mkdtemp(join(tmpdir(), 'twopc-own-mariadb-'));
    await run('mariadb-install-db', [
      '--no-defaults',
      `--datadir=${join(dir, 'data')}`,
      '--user=root',
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ]);
    const server = new OwnMariaDb(await freePort(), dir, options.binlog ?? true);
    await server.start();
    await server.sql('CREATE DATABASE IF NOT EXISTS twopc_test', [], 'mysql');
    return server;
  }

  /** Connection settings for root on a database. */
  config(database = 'twopc_test'): mysql.PoolOptions {
    return { host: '127.0.0.1', port: this.port, user: 'root', database };
  }

  /** A pool on a database (its errors on idle connections swallowed: the tests kill the server). */
  pool(database = 'twopc_test', connectionLimit = 10): mysql.Pool {
    const pool = mysql.createPool({ ...this.config(database), connectionLimit });
    pool.pool.on('connection', (c) => c.on('error', () => undefined));
    return pool;
  }

  /** Starts mariadbd (after a SIGKILL: its crash recovery, XA included) and waits until it accepts connections. */
  async start(): Promise<void> {
    const data = join(this.#dir, 'data');
    const args = [
      '--no-defaults',
      `--datadir=${data}`,
      '--user=root',
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(this.#dir, 'sock')}`,
      `--pid-file=${join(this.#dir, 'pid')}`,
      `--log-error=${join(this.#dir, 'error.log')}`,
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M',
      '--innodb-lock-wait-timeout=2',
      '--skip-name-resolve',
      '--max-connections=300',
      ...(this.#binlog
        ? [`--log-bin=${join(data, 'binlog')}`, '--server-id=1', '--sync-binlog=1']
        : ['--skip-log-bin']),
    ];
    const child = spawn(MARIADBD, args, { stdio: 'ignore' });
    this.#child = child;
    // A test process that ends without its after hooks (a timeout, mocha's
    // --exit) takes its server with it instead of leaving it running.
    const orphaned = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', orphaned);
    child.once('exit', () => process.removeListener('exit', orphaned));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let gone = false;
    void exited.then(() => (gone = true));
    await eventually(
      async () => {
        if (gone) {
          throw new Error(`mariadbd exited at start (see ${join(this.#dir, 'error.log')})`);
        }
        return this.sql('SELECT 1', [], 'mysql').then(
          () => true,
          () => false,
        );
      },
      60_000,
      'mariadbd accepting connections',
    );
  }

  /** SIGKILLs mariadbd: nothing flushed, nothing cleaned up; the next start runs crash recovery. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    this.#child = null;
  }

  /** Stops the server and deletes its files. */
  async destroy(): Promise<void> {
    const child = this.#child;
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    this.#child = null;
    await rm(this.#dir, { recursive: true, force: true });
  }

  /** Runs a statement as root on a connection of its own. */
  async sql<R = mysql.RowDataPacket[]>(
    text: string,
    values: unknown[] = [],
    database = 'twopc_test',
  ): Promise<R> {
    const conn = await mysql.createConnection(this.config(database));
    conn.on('error', () => undefined);
    try {
      return (await conn.query(text, values))[0] as R;
    } finally {
      await conn.end().catch(() => undefined);
    }
  }

  /** The XIDs prepared in the server (all format ids), as `XA RECOVER FORMAT='SQL'` writes them. */
  async prepared(): Promise<string[]> {
    const rows = await this.sql<{ data: string }[]>("XA RECOVER FORMAT='SQL'");
    return rows.map((r) => r.data);
  }
}
