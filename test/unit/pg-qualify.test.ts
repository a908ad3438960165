import assert from 'node:assert/strict';
import { listStatement } from '../../src/store/pg-list.ts';
import { LOG_OBJECTS, qualify, statementsIn } from '../../src/store/pg-qualify.ts';
import { SQL } from '../../src/store/pg-queries.ts';
import type { QueryName } from '../../src/store/pg-queries.ts';
import type { ListFilter } from '../../src/store/transaction-store.ts';
import { LIST_ALL } from '../support/list-filter.ts';

/** Every list shape: each filter alone and all of them at once. */
const SHAPES: Partial<ListFilter>[] = [
  {},
  { tenant: 'default' },
  { states: ['ABORTED'] },
  { states: ['PREPARING'] },
  { minAgeSeconds: 60 },
  { after: { createdAt: new Date(0), txnId: '00000000-0000-4000-8000-000000000000' } },
  { stuckAfterMs: 1000 },
  { heuristicOnly: true },
  { labels: { a: 'b' } },
  { participant: 'svc' },
  {
    tenant: 'default',
    states: ['ABORTED'],
    minAgeSeconds: 60,
    stuckAfterMs: 1000,
    heuristicOnly: true,
    labels: { a: 'b' },
    participant: 'svc',
  },
];

/** Names of twopc_ objects in a statement that its schema does not qualify. */
function unqualified(text: string, schema: string): string[] {
  return [...text.matchAll(/[\w.$]*twopc_\w+/g)]
    .map((m) => m[0])
    .filter((name) => !name.startsWith(`${schema}.`));
}

describe('Statements qualified by the log schema (pg-qualify)', function () {
  it('names every table and function of every statement by its schema', function () {
    const statements = statementsIn('s1');
    for (const name of Object.keys(SQL) as QueryName[]) {
      assert.deepEqual(unqualified(statements[name], 's1'), [], name);
    }
  });

  it('names every table of every list shape by its schema', function () {
    for (const shape of SHAPES) {
      const text = qualify(listStatement({ ...LIST_ALL, ...shape }).text, 's1');
      assert.deepEqual(unqualified(text, 's1'), [], JSON.stringify(shape));
    }
  });

  it('leaves index names, qualified names and longer identifiers alone', function () {
    assert.equal(
      qualify(
        "twopc_transactions_open x.twopc_transactions 'twopc_transactions'::regclass twopc_store_token()",
        's1',
      ),
      "twopc_transactions_open x.twopc_transactions 's1.twopc_transactions'::regclass s1.twopc_store_token()",
    );
  });

  it('knows each object once', function () {
    assert.equal(new Set(LOG_OBJECTS).size, LOG_OBJECTS.length);
  });
});
