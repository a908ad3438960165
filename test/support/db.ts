import { createHash } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/store/migrate.ts';
import { createPools } from '../../src/store/pg-pools.ts';
import { PgTransactionStore } from '../../src/store/pg-transaction-store.ts';
import { ensureDatabase } from './hooks.ts';

/** The test run's PostgreSQL URL (started on first use). */
export function testDatabaseUrl(): Promise<string> {
  return ensureDatabase();
}

/**
 * A schema of its own for a test file: `twopc_<sha1(file)>`, dropped and
 * re-created at the start (not at the end, so a failed run leaves it to
 * inspect).
 */
export async function freshSchema(fileUrl: string, suffix = ''): Promise<string> {
  const schema = `twopc_${createHash('sha1')
    .update(fileUrl + suffix)
    .digest('hex')
    .slice(0, 16)}`;
  await withClient((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  return schema;
}

/** A migrated fresh schema. */
export async function migratedSchema(fileUrl: string, suffix = ''): Promise<string> {
  const schema = await freshSchema(fileUrl, suffix);
  await migrate(await testDatabaseUrl(), schema, () => undefined);
  return schema;
}

/** Runs `fn` with a connected client, closing it afterwards. */
export async function withClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: await testDatabaseUrl() });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs one query in a schema. */
export async function sql<R extends pg.QueryResultRow>(
  schema: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  return withClient(async (c) => {
    await c.query(`SET search_path TO ${schema}`);
    return (await c.query<R>(text, values)).rows;
  });
}

/** A transaction's state as the log holds it (undefined: no row). */
export async function loggedState(schema: string, txnId: string): Promise<string | undefined> {
  const rows = await sql<{ state: string }>(
    schema,
    'SELECT state FROM twopc_transactions WHERE txn_id = $1',
    [txnId],
  );
  return rows[0]?.state;
}

/** A store over `schema` of the test run's PostgreSQL (two connections); close it after. */
export async function storeOver(schema: string): Promise<PgTransactionStore> {
  return new PgTransactionStore(
    createPools({
      url: await testDatabaseUrl(),
      schema,
      maxConnections: 2,
      onError: () => undefined,
    }),
  );
}
