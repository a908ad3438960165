import assert from 'node:assert/strict';
import { VIEW_STATES } from 'twopc/internal/contract/tx-state';
import type { ViewState } from 'twopc/internal/contract/tx-state';
import type { PgTransactionStore } from '../../src/store/pg-transaction-store.ts';
import type { ListFilter } from '../../src/store/transaction-store.ts';
import { migratedSchema, sql, storeOver } from '../support/db.ts';

/** What the log holds of one transaction, as the reference filter reads it. */
interface Row {
  txnId: string;
  tenant: string;
  /** As shown: IN_DOUBT is stored ABORTING with one_phase. */
  state: ViewState;
  ageSeconds: number;
  decidedAgoSeconds: number | null;
  labels: Record<string, string>;
  participants: { name: string; heuristic: boolean }[];
}

const TERMINAL: readonly ViewState[] = ['COMMITTED', 'ABORTED'];

/** A small deterministic generator (the rows and filters are the same every run). */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

describe('ListTransactions: every combination of filters, page by page, against a reference', function () {
  let schema: string;
  let store: PgTransactionStore;
  const rows: Row[] = [];

  before(async function () {
    schema = await migratedSchema(import.meta.url);
    store = await storeOver(schema);
    const r = random(25);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
    for (let i = 0; i < 240; i++) {
      const state = pick(VIEW_STATES);
      const decided = state !== 'ACTIVE' && state !== 'PREPARING';
      rows.push({
        txnId: crypto.randomUUID(),
        tenant: pick(['acme', 'globex', 'initech']),
        state,
        // Pairs of transactions begun in the same second (the page order
        // then falls back on the id), a minute apart from the next pair.
        ageSeconds: 14_400 - Math.floor(i / 2) * 60,
        decidedAgoSeconds: decided ? pick([1, 3600]) : null,
        labels: pick([{}, { batch: 'nightly' }, { batch: 'hourly', region: 'eu' }]),
        participants: ['p', 'q', 'r']
          .filter(() => r() < 0.6)
          .map((name) => ({ name, heuristic: decided && r() < 0.1 })),
      });
    }
    const base = Math.floor(Date.now() / 1000) * 1000;
    const txs = rows.map((x) => ({
      txn_id: x.txnId,
      state: x.state === 'IN_DOUBT' ? 'ABORTING' : x.state,
      one_phase: x.state === 'IN_DOUBT',
      labels: x.labels,
      n: x.participants.length,
      created_at: new Date(base - x.ageSeconds * 1000).toISOString(),
      decided_ago: x.decidedAgoSeconds,
      terminal: TERMINAL.includes(x.state),
      tenant: x.tenant,
    }));
    await sql(
      schema,
      `INSERT INTO twopc_transactions (txn_id, state, one_phase, labels, lease_ms, lease_expires_at, participant_count,
         created_at, decided_at, finished_at, tenant)
       SELECT txn_id, state, one_phase, labels, 60000, now(), n, created_at, now() - make_interval(secs => decided_ago),
         CASE WHEN terminal THEN now() END, tenant
       FROM json_to_recordset($1::json) AS x(txn_id uuid, state text, one_phase boolean, labels jsonb, n integer,
         created_at timestamptz, decided_ago integer, terminal boolean, tenant text)`,
      [JSON.stringify(txs)],
    );
    const ps = rows.flatMap((x) =>
      x.participants.map((p) => ({
        txn_id: x.txnId,
        name: p.name,
        heuristic: p.heuristic ? 'ABORTED' : null,
      })),
    );
    await sql(
      schema,
      `INSERT INTO twopc_participants (txn_id, name, endpoint, heuristic)
       SELECT txn_id, name, 'h:1', heuristic FROM json_to_recordset($1::json) AS x(txn_id uuid, name text, heuristic text)`,
      [JSON.stringify(ps)],
    );
  });
  after(async function () {
    await store.close();
  });

  function reference(f: Omit<ListFilter, 'limit' | 'after'>): string[] {
    return rows
      .filter(
        (x) =>
          (f.tenant === null || x.tenant === f.tenant) &&
          (f.states.length === 0 || f.states.includes(x.state)) &&
          x.ageSeconds >= f.minAgeSeconds &&
          (f.stuckAfterMs === null ||
            (['COMMITTING', 'ABORTING', 'IN_DOUBT'].includes(x.state) &&
              (x.decidedAgoSeconds ?? 0) * 1000 > f.stuckAfterMs)) &&
          (!f.heuristicOnly || x.participants.some((p) => p.heuristic)) &&
          Object.entries(f.labels).every(([k, v]) => x.labels[k] === v) &&
          (f.participant === null || x.participants.some((p) => p.name === f.participant)),
      )
      .sort((a, b) => a.ageSeconds - b.ageSeconds || (a.txnId < b.txnId ? 1 : -1))
      .map((x) => x.txnId);
  }

  it('gives, page after page, exactly the transactions the filters select, newest first', async function () {
    this.timeout(120_000);
    const options = {
      tenant: [null, 'globex'],
      states: [[], ['COMMITTING', 'ABORTING'], ['ABORTED', 'IN_DOUBT', 'ACTIVE']] as ViewState[][],
      minAgeSeconds: [0, 10_010],
      stuckAfterMs: [null, 60_000],
      heuristicOnly: [false, true],
      labels: [{}, { batch: 'hourly' }],
      participant: [null, 'q'],
    };
    // Every combination: the cartesian product of the options.
    let filters: Record<string, unknown>[] = [{}];
    for (const [key, values] of Object.entries(options)) {
      filters = filters.flatMap((f) => (values as unknown[]).map((v) => ({ ...f, [key]: v })));
    }
    let combinations = 0;
    for (const f of filters as unknown as Omit<ListFilter, 'limit' | 'after'>[]) {
      const got: string[] = [];
      let after: ListFilter['after'] = null;
      for (let page = 0; page < 100; page++) {
        const views = await store.list({ ...f, limit: 7, after });
        got.push(...views.map((v) => v.txnId));
        const last = views.at(-1);
        if (views.length < 7 || last === undefined) {
          break;
        }
        after = { createdAt: last.createdAt, txnId: last.txnId };
      }
      assert.deepEqual(got, reference(f), JSON.stringify(f));
      combinations++;
    }
    assert.equal(combinations, 192);
  });
});
