import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres-server.ts';
import { OwnPostgres, systemPostgresBin } from '../test/support/own-postgres.ts';
import type { PostgresBuild } from '../test/support/own-postgres.ts';
import { freePort } from './ports.ts';

export type { PostgresBuild };

/**
 * The server the benchmark measures on unless told: the system's PostgreSQL
 * (Debian's postgresql-NN, JIT on, as users run it) where one is installed,
 * the embedded one otherwise.
 */
export function defaultBenchServer(): PostgresBuild {
  return systemPostgresBin() === null ? 'embedded' : 'system';
}

/** Checks a --server option. */
export function parseBenchServer(value: string | undefined): PostgresBuild {
  const build = value ?? defaultBenchServer();
  if (build !== 'embedded' && build !== 'system') {
    console.error('--server must be system (the installed PostgreSQL, JIT on) or embedded');
    process.exit(2);
  }
  if (build === 'system' && systemPostgresBin() === null) {
    console.error('--server system: no PostgreSQL installed (apt-get install postgresql-15)');
    process.exit(2);
  }
  return build;
}

/** The benchmark's own PostgreSQL, in a scratch directory. */
export interface BenchLog {
  /** A scratch directory of the benchmark's (removed by stop). */
  readonly dir: string;
  readonly server: { readonly url: string };
  /** Two connections for the benchmark's own queries (sizes, WAL, filling). */
  readonly db: pg.Pool;
  /** The postmaster's pid (its process tree's CPU is PostgreSQL's). */
  readonly postmaster: number;
  /** Which server, its version and its JIT setting, as measured. */
  readonly description: string;
  /** Closes the pool, stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** What the server says it is. */
async function describe(db: pg.Pool, build: PostgresBuild): Promise<string> {
  const [row] = (
    await db.query<{ version: string; jit: string; available: boolean }>(
      `SELECT current_setting('server_version') AS version, current_setting('jit') AS jit,
              pg_jit_available() AS available`,
    )
  ).rows;
  const jit =
    row?.jit === 'on' && row.available ? 'on' : row?.jit === 'on' ? 'on (no provider)' : 'off';
  return `${build === 'system' ? 'system' : 'embedded'} PostgreSQL ${row?.version ?? '?'}, jit ${jit}`;
}

/**
 * Starts a PostgreSQL of the given build for the benchmark. With
 * `statements`, pg_stat_statements is loaded and counts planning too
 * (--statement-profile); the embedded build then runs as a server of the
 * benchmark's own (the product's embedded server takes no settings).
 */
export async function startBenchLog(
  prefix: string,
  build: PostgresBuild,
  statements = false,
): Promise<BenchLog> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  let url: string;
  let pidFile: string;
  let stopServer: () => Promise<void>;
  if (build === 'system' || statements) {
    const own = await OwnPostgres.create(
      statements
        ? {
            shared_preload_libraries: "'pg_stat_statements'",
            'pg_stat_statements.track_planning': 'on',
          }
        : {},
      {},
      build,
    );
    url = own.url();
    pidFile = join(own.dataDir, 'postmaster.pid');
    stopServer = () => own.destroy();
  } else {
    const server = await startEmbeddedPostgres({
      dataDir: dir,
      port: await freePort(),
      log: () => undefined,
    });
    url = server.url;
    pidFile = join(dir, 'pgdata', 'postmaster.pid');
    stopServer = () => server.stop();
  }
  const db = new pg.Pool({ connectionString: url, max: 2 });
  // An idle connection ended by the server stopping at the end is no failure.
  db.on('error', () => undefined);
  if (statements) {
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  }
  const postmaster = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  return {
    dir,
    server: { url },
    db,
    postmaster,
    description: await describe(db, build),
    stop: async () => {
      await db.end();
      await stopServer();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
