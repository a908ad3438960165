import { TxState, ViewState, isTerminal } from 'twopc/internal/contract/tx-state';
import { TENANTS } from './pg-queries.ts';
import { TX_COLUMNS } from './pg-rows.ts';
import type { ListFilter } from './transaction-store.ts';

/** A ListTransactions statement: only the filters asked for, so each shape gets its own plan. */
export interface ListStatement {
  /** The prepared statement's name: one per combination of filters. */
  readonly name: string;
  readonly text: string;
  readonly values: unknown[];
}

/**
 * One page of transactions, newest first, built from the filters present.
 * A catch-all statement (`$1 IS NULL OR …` for every filter) gets one
 * generic plan for every combination, which walks the whole created-at index
 * for a rare match; each shape here is planned for what it asks. Filters
 * that select few rows start from the index that holds them: unfinished
 * states and stuck transactions from the partial index of unfinished rows,
 * heuristic outcomes from the partial indexes of heuristic participants
 * (rows) and of folded transactions with a heuristic outcome. The
 * page's ids are chosen first; its rows (participants, operator actions)
 * are read for those ids only.
 */
export function listStatement(filter: ListFilter): ListStatement {
  const values: unknown[] = [];
  const param = (value: unknown, type: string): string => {
    values.push(value);
    return `$${values.length}::${type}`;
  };
  const where: string[] = [];
  let shape = '';
  /** Whether a filter selects from a small partial index (then no per-tenant merge). */
  let narrow = false;
  if (filter.tenant !== null) {
    where.push(`t.tenant = ${param(filter.tenant, 'text')}`);
    shape += 't';
  }
  if (filter.states.length > 0) {
    const unfinished = filter.states.every((s) => !isTerminal(s));
    // IN_DOUBT is stored ABORTING with one_phase; ABORTING shown is the rest.
    const inDoubt = filter.states.includes(ViewState.IN_DOUBT);
    const aborting = filter.states.includes(ViewState.ABORTING);
    const stored = [
      ...new Set(filter.states.map((s) => (s === ViewState.IN_DOUBT ? TxState.ABORTING : s))),
    ];
    const onePhase = [...(aborting ? [false] : []), ...(inDoubt ? [true] : [])];
    where.push(
      `t.state = ANY(${param(stored, 'text[]')}) AND (t.state <> 'ABORTING' OR t.one_phase = ANY(${param(onePhase, 'boolean[]')}))${unfinished ? ' AND t.finished_at IS NULL' : ''}`,
    );
    shape += unfinished ? 'u' : 's';
    narrow ||= unfinished;
  }
  if (filter.minAgeSeconds > 0) {
    where.push(
      `t.created_at <= now() - make_interval(secs => ${param(filter.minAgeSeconds, 'integer')})`,
    );
    shape += 'm';
  }
  if (filter.after !== null) {
    where.push(
      `(t.created_at, t.txn_id) < (${param(filter.after.createdAt, 'timestamptz')}, ${param(filter.after.txnId, 'uuid')})`,
    );
    shape += 'a';
  }
  if (filter.stuckAfterMs !== null) {
    where.push(
      `t.finished_at IS NULL AND t.state IN ('COMMITTING', 'ABORTING') AND t.decided_at < now() - make_interval(secs => ${param(filter.stuckAfterMs, 'double precision')} / 1000.0)`,
    );
    shape += 'k';
    narrow = true;
  }
  if (filter.heuristicOnly) {
    where.push(
      `t.txn_id IN (SELECT h.txn_id FROM twopc_participants h WHERE h.heuristic IS NOT NULL
        UNION ALL SELECT g.txn_id FROM twopc_transactions g WHERE g.has_heuristic)`,
    );
    shape += 'h';
    narrow = true;
  }
  if (Object.keys(filter.labels).length > 0) {
    where.push(`t.labels @> ${param(JSON.stringify(filter.labels), 'jsonb')}`);
    shape += 'l';
  }
  if (filter.participant !== null) {
    // One EXISTS over both layouts: correlated in each arm, it stays a
    // probe of the participants' primary key per row (an OR of two EXISTS
    // may be planned as a hashed scan of every participant).
    const name = param(filter.participant, 'text');
    where.push(
      `EXISTS (SELECT 1 FROM twopc_participants e WHERE e.txn_id = t.txn_id AND e.name = ${name}
        UNION ALL SELECT 1 WHERE t.participants @> jsonb_build_array(jsonb_build_object('name', ${name})))`,
    );
    shape += 'p';
  }
  const limit = param(filter.limit, 'integer');
  const filters = where.length > 0 ? `AND ${where.join('\n        AND ')}` : '';
  // Every tenant, and nothing narrower to start from: the newest of each
  // tenant (its own index range), merged. The log keeps no index over every
  // tenant by creation: it would cost each Begin and completion a second
  // entry. The tenants are found by skipping through the index, one probe
  // each.
  const everyTenant = filter.tenant === null && !narrow;
  const page = everyTenant
    ? `WITH RECURSIVE ${TENANTS},
      page AS MATERIALIZED (
        SELECT l.txn_id, l.created_at FROM tenants, LATERAL (
          SELECT t.txn_id, t.created_at FROM twopc_transactions t
          WHERE t.tenant = tenants.tenant ${filters}
          ORDER BY t.created_at DESC, t.txn_id DESC
          LIMIT ${limit}) l
        ORDER BY l.created_at DESC, l.txn_id DESC
        LIMIT ${limit})`
    : `WITH page AS MATERIALIZED (
        SELECT t.txn_id FROM twopc_transactions t
        WHERE true ${filters}
        ORDER BY t.created_at DESC, t.txn_id DESC
        LIMIT ${limit})`;
  const text = `${page}
    SELECT ${TX_COLUMNS} FROM page JOIN twopc_transactions t USING (txn_id)
    ORDER BY t.created_at DESC, t.txn_id DESC`;
  return { name: `twopc_list_${everyTenant ? 'e' : ''}${shape || 'all'}`, text, values };
}
