import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../package-root.ts';
import { VERSION } from '../package-version.ts';
import pg from 'pg';
import { isValidSchema } from './pg-pools.ts';
import { isConnectionError, isUniqueViolation } from './pg-errors.ts';

/**
 * What a migration does to coordinators of the previous release:
 * - `expand` (`--! expand`): leaves the log readable and writable by them;
 *   rolled out one coordinator at a time, under load.
 * - `contract` (`--! contract`): drops what they needed; it ships only in a
 *   release after the one whose expand step made it unneeded, once no
 *   coordinator of the previous release can remain.
 * - `legacy`: written before this policy (the first release's, 000001 to
 *   000006); `--! breaking` ones among them changed what the log means.
 */
export type MigrationKind = 'expand' | 'contract' | 'legacy';

/** A migration file on disk. */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
  readonly sha256: string;
  readonly kind: MigrationKind;
  /** Older coordinators must refuse to run over it (contract, or legacy breaking). */
  readonly breaking: boolean;
}

/** The kind a file declares on its first line. */
function kindOf(sql: string): MigrationKind {
  return sql.startsWith('--! expand')
    ? 'expand'
    : sql.startsWith('--! contract')
      ? 'contract'
      : 'legacy';
}

/** Where the package's migrations live. */
export const MIGRATIONS_DIR = join(packageRoot(), 'migrations');

const FILE = /^(\d{6})_([a-z0-9_]+)\.sql$/;

/** Reads the numbered SQL files of a directory, in order. */
export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => FILE.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const [, id = '', name = ''] = FILE.exec(file) ?? [];
      const sql = await readFile(`${dir}/${file}`, 'utf8');
      return {
        id: Number(id),
        name,
        sql,
        sha256: createHash('sha256').update(sql).digest('hex'),
        kind: kindOf(sql),
        breaking: sql.startsWith('--! breaking') || kindOf(sql) === 'contract',
      };
    }),
  );
}

/** Refusal to run against a database the code does not understand. */
export class MigrationError extends Error {}

interface AppliedRow {
  id: number;
  name: string;
  sha256: string;
  breaking: boolean;
  /** The release that applied it (null: before releases were recorded). */
  release: string | null;
}

/**
 * Applies pending migrations (see migrateLog).
 * @returns names of the migrations applied now
 * @throws MigrationError
 */
export async function migrate(
  url: string,
  schema: string,
  warn: (message: string) => void,
  migrations?: Migration[],
): Promise<string[]> {
  return (await migrateLog(url, schema, warn, migrations)).applied;
}

/**
 * Applies pending migrations, each in its own transaction, under an advisory
 * lock so that concurrent coordinators migrate once. Refuses to start on a
 * database holding a breaking migration newer than the code, or one whose
 * applied file changed since.
 *
 * Nothing outlives a transaction, so that it works the same through a
 * connection pooler in transaction mode (which hands each transaction
 * whichever server session is free): the lock is transaction-scoped, taken
 * again by each transaction, and the schema is set for each (SET LOCAL).
 * A concurrent runner waits on the lock, then finds the migration's row
 * (23505) and passes over it. (It also conflicts with the session-scoped
 * lock of the same key that earlier releases take.)
 * @returns the names of the migrations applied now, and the log's schema
 *   version (its newest migration, a newer coordinator's included)
 * @throws MigrationError
 */
export async function migrateLog(
  url: string,
  schema: string,
  warn: (message: string) => void,
  migrations?: Migration[],
): Promise<{ applied: string[]; logSchema: number }> {
  if (!isValidSchema(schema)) {
    throw new MigrationError(
      `invalid schema name '${schema}': use lowercase letters, digits and _`,
    );
  }
  const files = migrations ?? (await loadMigrations());
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const applied = await inLock(client, schema, async () => {
      await client.query(`CREATE TABLE IF NOT EXISTS twopc_migrations (
        id integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,
        breaking boolean NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      // Which release applied each migration: an older coordinator names it
      // when it refuses to run over a contract step. The previous release
      // inserts without it (NULL).
      await client.query('ALTER TABLE twopc_migrations ADD COLUMN IF NOT EXISTS release text');
      return readApplied(client);
    });
    checkApplied(applied, files, warn);
    const done = new Set(applied.map((a) => a.id));
    const now: string[] = [];
    for (const m of files.filter((f) => !done.has(f.id))) {
      if (await applyOne(client, schema, m, files)) {
        now.push(`${String(m.id).padStart(6, '0')}_${m.name}`);
      }
    }
    const logSchema = Math.max(0, ...applied.map((a) => a.id), ...files.map((f) => f.id));
    return { applied: now, logSchema };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Runs `fn` in a transaction holding the schema's migration lock, with the
 * schema (created if missing) as its search_path. Rolled back if `fn` throws.
 */
async function inLock<T>(client: pg.Client, schema: string, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`twopc_migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`SET LOCAL search_path TO ${schema}`);
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

function checkApplied(
  applied: AppliedRow[],
  files: Migration[],
  warn: (message: string) => void,
): void {
  const byId = new Map(files.map((f) => [f.id, f]));
  const latest = files.at(-1)?.id ?? 0;
  for (const row of applied) {
    const file = byId.get(row.id);
    if (file !== undefined && file.sha256 !== row.sha256) {
      throw new MigrationError(
        `migration ${row.id} (${row.name}) changed since it was applied; migrations are never edited once released`,
      );
    }
    if (file === undefined && row.id > latest && row.breaking) {
      const release = row.release === null ? 'a newer release' : `twopc ${row.release} or later`;
      throw new MigrationError(
        `the database holds migration ${row.id} (${row.name}), a contract step newer than this code (twopc ${VERSION}): coordinators of this release can no longer use this log; run ${release}`,
      );
    }
    if (file === undefined && row.id > latest) {
      warn(
        `the database holds migration ${row.id} (${row.name}), newer than this code; continuing (not breaking)`,
      );
    }
  }
}

/**
 * Applies one migration in a transaction of its own under the lock. What
 * was applied is read again under the lock: another runner may have moved
 * the log on since the first check (then this one stops as that check
 * would have). The row is inserted first: a runner that holds no lock hits
 * 23505 and treats the migration as done.
 */
async function applyOne(
  client: pg.Client,
  schema: string,
  m: Migration,
  files: Migration[],
): Promise<boolean> {
  try {
    return await inLock(client, schema, async () => {
      const applied = await readApplied(client);
      checkApplied(applied, files, () => undefined);
      if (applied.some((a) => a.id === m.id)) {
        return false;
      }
      await client.query(
        'INSERT INTO twopc_migrations (id, name, sha256, breaking, release) VALUES ($1, $2, $3, $4, $5)',
        [m.id, m.name, m.sha256, m.breaking, VERSION],
      );
      await client.query(m.sql);
      return true;
    });
  } catch (err) {
    // The log gone mid-way is not the migration's fault: the caller retries.
    if (err instanceof MigrationError || isConnectionError(err)) {
      throw err;
    }
    if (isUniqueViolation(err)) {
      return false;
    }
    throw new MigrationError(`migration ${m.id} (${m.name}) failed: ${(err as Error).message}`);
  }
}

async function readApplied(client: pg.Client): Promise<AppliedRow[]> {
  return (
    await client.query<AppliedRow>(
      'SELECT id, name, sha256, breaking, release FROM twopc_migrations ORDER BY id',
    )
  ).rows;
}
