import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { loadMigrations, migrate, MigrationError } from '../../src/store/migrate.ts';
import type { Migration } from '../../src/store/migrate.ts';
import { freshSchema, sql, testDatabaseUrl } from '../support/db.ts';

function extra(id: number, body: string, breaking = false): Migration {
  const text = `${breaking ? '--! contract\n' : '--! expand\n'}${body}`;
  return {
    id,
    name: `extra_${id}`,
    sql: text,
    sha256: createHash('sha256').update(text).digest('hex'),
    kind: breaking ? 'contract' : 'expand',
    breaking,
  };
}

describe('migrations', function () {
  it('installs from scratch and records every file', async function () {
    const schema = await freshSchema(import.meta.url, 'fresh');
    const applied = await migrate(await testDatabaseUrl(), schema, () => undefined);
    const files = await loadMigrations();
    assert.deepEqual(
      applied,
      files.map((f) => `${String(f.id).padStart(6, '0')}_${f.name}`),
    );
    const rows = await sql<{ id: number }>(schema, 'SELECT id FROM twopc_migrations ORDER BY id');
    assert.deepEqual(
      rows.map((r) => r.id),
      files.map((f) => f.id),
    );
    const tables = await sql<{ table_name: string }>(
      schema,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
      [schema],
    );
    assert.deepEqual(
      tables.map((t) => t.table_name),
      [
        'twopc_coordinators',
        'twopc_migrations',
        'twopc_operator_actions',
        'twopc_participants',
        'twopc_store_incarnation',
        'twopc_transactions',
      ],
    );
  });

  it('is a no-op when run again', async function () {
    const schema = await freshSchema(import.meta.url, 'again');
    await migrate(await testDatabaseUrl(), schema, () => undefined);
    assert.deepEqual(await migrate(await testDatabaseUrl(), schema, () => undefined), []);
  });

  it('migrates once when several coordinators start together', async function () {
    const schema = await freshSchema(import.meta.url, 'concurrent');
    const url = await testDatabaseUrl();
    const results = await Promise.all(
      Array.from({ length: 4 }, () => migrate(url, schema, () => undefined)),
    );
    // Each migration applied by exactly one of them (the lock is taken per
    // migration's transaction, so they may share the work), all of them in all.
    const files = await loadMigrations();
    assert.deepEqual(
      results.flat().sort(),
      files.map((f) => `${String(f.id).padStart(6, '0')}_${f.name}`),
    );
    const rows = await sql<{ n: number }>(
      schema,
      'SELECT count(*)::int AS n FROM twopc_migrations',
    );
    assert.equal(rows[0]?.n, (await loadMigrations()).length);
  });

  it('refuses a database whose applied migration was edited afterwards', async function () {
    const schema = await freshSchema(import.meta.url, 'edited');
    const url = await testDatabaseUrl();
    const files = await loadMigrations();
    await migrate(url, schema, () => undefined, [
      ...files,
      extra(900, 'CREATE TABLE t900 (x int);'),
    ]);
    await assert.rejects(
      migrate(url, schema, () => undefined, [...files, extra(900, 'CREATE TABLE t900 (y int);')]),
      (e: Error) => e instanceof MigrationError && /changed since it was applied/.test(e.message),
    );
  });

  it('refuses to start on a breaking migration newer than the code, and warns on a newer compatible one', async function () {
    const url = await testDatabaseUrl();
    const files = await loadMigrations();
    const compatible = await freshSchema(import.meta.url, 'newer');
    await migrate(url, compatible, () => undefined, [...files, extra(901, 'SELECT 1;')]);
    const warnings: string[] = [];
    await migrate(url, compatible, (m) => warnings.push(m), files);
    assert.match(warnings.join('\n'), /newer than this code; continuing/);
    const breaking = await freshSchema(import.meta.url, 'breaking');
    await migrate(url, breaking, () => undefined, [...files, extra(902, 'SELECT 1;', true)]);
    await assert.rejects(
      migrate(url, breaking, () => undefined, files),
      /migration 902 \(extra_902\), a contract step newer than this code \(twopc \d+\.\d+\.\d+[-.\w]*\): .*run twopc \d+\.\d+\.\d+[-.\w]* or later/,
    );
  });

  it('records the release that applied each migration, and every migration after the first release declares expand or contract', async function () {
    const schema = await freshSchema(import.meta.url, 'releases');
    await migrate(await testDatabaseUrl(), schema, () => undefined);
    const rows = await sql<{ release: string | null }>(
      schema,
      'SELECT release FROM twopc_migrations',
    );
    assert.ok(
      rows.length > 0 &&
        rows.every((r) => /^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/.test(String(r.release))),
    );
    // 000001 to 000006 shipped in 0.1.0, before the policy; never edited since.
    for (const m of (await loadMigrations()).filter((f) => f.id > 6)) {
      assert.notEqual(
        m.kind,
        'legacy',
        `migration ${m.id} must start with --! expand or --! contract`,
      );
    }
  });

  it('rolls a failing migration back whole', async function () {
    const schema = await freshSchema(import.meta.url, 'failing');
    const url = await testDatabaseUrl();
    const files = await loadMigrations();
    await assert.rejects(
      migrate(url, schema, () => undefined, [
        ...files,
        extra(903, 'CREATE TABLE ok903 (x int); SELECT nope;'),
      ]),
      /migration 903 .* failed/,
    );
    const rows = await sql<{ n: number }>(
      schema,
      `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'ok903'`,
      [schema],
    );
    assert.equal(rows[0]?.n, 0);
    assert.deepEqual(await migrate(url, schema, () => undefined, files), []);
  });
});
