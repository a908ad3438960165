import { SQL } from './pg-queries.ts';
import type { QueryName } from './pg-queries.ts';

/**
 * Every table and function of the log that a statement of the store names
 * (the migrations create them in the log's schema).
 */
export const LOG_OBJECTS = [
  'twopc_transactions',
  'twopc_participants',
  'twopc_coordinators',
  'twopc_operator_actions',
  'twopc_store_incarnation',
  'twopc_store_token',
  'twopc_migrations',
] as const;

// A name standing alone: not part of a longer identifier (an index name),
// not already qualified. Inside a literal ('twopc_transactions'::regclass)
// it is qualified too: the cast resolves the name the same way.
const NAME = new RegExp(`(?<![\\w.$])(${LOG_OBJECTS.join('|')})(?![\\w$])`, 'g');

/**
 * A statement with every name of the log qualified by its schema, so that it
 * means the same on any connection whatever its search_path (a connection
 * pooler in transaction mode hands each transaction a server session that
 * carries no setting of this coordinator's).
 * @param schema a name isValidSchema accepts (spliced as is)
 */
export function qualify(text: string, schema: string): string {
  return text.replace(NAME, `${schema}.$1`);
}

const bySchema = new Map<string, Readonly<Record<QueryName, string>>>();

/** The store's statements qualified by a schema (made once per schema). */
export function statementsIn(schema: string): Readonly<Record<QueryName, string>> {
  let statements = bySchema.get(schema);
  if (statements === undefined) {
    statements = Object.freeze(
      Object.fromEntries(
        (Object.keys(SQL) as QueryName[]).map((n) => [n, qualify(SQL[n], schema)]),
      ) as Record<QueryName, string>,
    );
    bySchema.set(schema, statements);
  }
  return statements;
}
