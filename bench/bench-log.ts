import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres-server.ts';
import type { EmbeddedServer } from '../src/store/embedded-postgres-server.ts';
import { freePort } from './ports.ts';

/** The benchmark's own PostgreSQL: an embedded server in a scratch directory. */
export interface BenchLog {
  /** The scratch directory (removed by stop). */
  readonly dir: string;
  readonly server: EmbeddedServer;
  /** Two connections for the benchmark's own queries (sizes, WAL, filling). */
  readonly db: pg.Pool;
  /** The postmaster's pid (its process tree's CPU is PostgreSQL's). */
  readonly postmaster: number;
  /** Closes the pool, stops the server and removes its directory. */
  stop(): Promise<void>;
}

export async function startBenchLog(prefix: string): Promise<BenchLog> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const server = await startEmbeddedPostgres({
    dataDir: dir,
    port: await freePort(),
    log: () => undefined,
  });
  const db = new pg.Pool({ connectionString: server.url, max: 2 });
  // An idle connection ended by the server stopping at the end is no failure.
  db.on('error', () => undefined);
  const postmaster = Number(
    (await readFile(join(dir, 'pgdata', 'postmaster.pid'), 'utf8')).split('\n')[0],
  );
  return {
    dir,
    server,
    db,
    postmaster,
    stop: async () => {
      await db.end();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
