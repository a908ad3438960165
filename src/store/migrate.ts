import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../package-root.ts';
import pg from 'pg';
import { isValidSchema } from './pg-pools.ts';
import { isUniqueViolation } from './pg-errors.ts';

/** A migration file on disk. */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
  readonly sha256: string;
  readonly breaking: boolean;
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
        breaking: sql.startsWith('--! breaking'),
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
}

/**
 * Applies pending migrations, each in its own transaction, under an advisory
 * lock so that concurrent coordinators migrate once. Refuses to start on a
 * database holding a breaking migration newer than the code, or one whose
 * applied file changed since.
 * @returns names of the migrations applied now
 * @throws MigrationError
 */
export async function migrate(
  url: string,
  schema: string,
  warn: (message: string) => void,
  migrations?: Migration[],
): Promise<string[]> {
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
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`twopc_migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`SET search_path TO ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS twopc_migrations (
      id integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,
      breaking boolean NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = (
      await client.query<AppliedRow>(
        'SELECT id, name, sha256, breaking FROM twopc_migrations ORDER BY id',
      )
    ).rows;
    checkApplied(applied, files, warn);
    const done = new Set(applied.map((a) => a.id));
    const now: string[] = [];
    for (const m of files.filter((f) => !done.has(f.id))) {
      if (await applyOne(client, m)) {
        now.push(`${String(m.id).padStart(6, '0')}_${m.name}`);
      }
    }
    return now;
  } finally {
    await client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    await client.end().catch(() => undefined);
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
      throw new MigrationError(
        `the database holds breaking migration ${row.id} (${row.name}), newer than this code; upgrade twopc`,
      );
    }
    if (file === undefined && row.id > latest) {
      warn(
        `the database holds migration ${row.id} (${row.name}), newer than this code; continuing (not breaking)`,
      );
    }
  }
}

/** Inserts the row first: a runner without the lock hits 23505 and treats it as done. */
async function applyOne(client: pg.Client, m: Migration): Promise<boolean> {
  await client.query('BEGIN');
  try {
    await client.query(
      'INSERT INTO twopc_migrations (id, name, sha256, breaking) VALUES ($1, $2, $3, $4)',
      [m.id, m.name, m.sha256, m.breaking],
    );
    await client.query(m.sql);
    await client.query('COMMIT');
    return true;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (isUniqueViolation(err)) {
      return false;
    }
    throw new MigrationError(`migration ${m.id} (${m.name}) failed: ${(err as Error).message}`);
  }
}
