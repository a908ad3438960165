import type { Pool } from 'pg';
import { LIMITS } from 'twopc/internal/contract/limits';
import type { ParticipantRecord, TxId, TxRecord } from '../core/tx-record.ts';
import { Vote } from 'twopc/internal/contract/tx-state';
import type { TxState } from 'twopc/internal/contract/tx-state';
import { isCommitDecision, participantArrays } from './pg-rows.ts';
import { runQuery } from './pg-run.ts';
import { isUniqueViolation } from './pg-errors.ts';
import { DecisionWrite } from './transaction-store.ts';
import type { BeginInput } from './transaction-store.ts';
import { LogLayout } from './log-layout.ts';

// The batched writes of the store: each takes the items that concurrent
// calls submitted to a Batcher and writes them in one statement, returning
// one result per item, in order. Statements that lock several transaction
// rows lock them in txn_id order, so two batches never deadlock each other.

export interface EnlistKey {
  readonly txnId: TxId;
  readonly name: string;
  readonly endpoint: string;
}

export interface PrepareKey {
  readonly txnId: TxId;
  readonly ownerId: string;
  readonly onePhaseAllowed: boolean;
}

export interface PreparingRow {
  readonly one_phase: boolean;
  readonly token_ok: boolean;
  readonly trace_context: string | null;
  readonly participant_count: number;
  /** enlisted_at: enlisted after Begin, or a row of the rows layout (see startPreparing). */
  readonly participants: { name: string; endpoint: string; enlisted_at?: string }[];
}

export interface CompletionItem {
  readonly tx: TxRecord;
  readonly from: TxState;
}

/**
 * Begins, created in `layout`: the lease deadline of each; null for an id
 * the log already holds (or that an earlier item of the batch takes),
 * whose row is not written.
 */
export async function writeBegins(
  pool: Pool,
  batch: BeginInput[],
  layout: LogLayout = LogLayout.ROWS,
): Promise<(Date | null)[]> {
  const folded = layout === LogLayout.FOLDED;
  const ids = new Set<string>();
  const fresh: BeginInput[] = [];
  for (const b of batch) {
    if (!ids.has(b.txnId)) {
      ids.add(b.txnId);
      fresh.push(b);
    }
  }
  const ps = folded
    ? []
    : fresh.flatMap((b) => b.participants.map((p) => ({ txnId: b.txnId, ...p })));
  const values = [
    fresh.map((b) => b.txnId),
    fresh.map((b) => JSON.stringify(b.labels)),
    fresh.map((b) => b.leaseMs),
    fresh.map((b) => b.participants.length),
    fresh.map((b) => b.ownerId),
    fresh.map((b) => b.traceContext),
    ps.map((p) => p.txnId),
    ps.map((p) => p.name),
    ps.map((p) => p.endpoint),
    fresh.map((b) => b.tenant),
    fresh.map((b) => b.principal),
    fresh.map((b) => (folded ? foldedParticipants(b) : null)),
  ];
  type Begun = { txn_id: string; lease_expires_at: Date };
  // A plain INSERT first (no speculative insertion's WAL); an id already in
  // the log fails it, and the batch goes again with ON CONFLICT.
  const rows = await runQuery<Begun>(pool, 'beginNew', values).catch((err: unknown) => {
    if (isUniqueViolation(err)) {
      return runQuery<Begun>(pool, 'begin', values);
    }
    throw err;
  });
  const at = new Map(rows.map((r) => [r.txn_id, r.lease_expires_at]));
  return batch.map((b) => {
    const leaseExpiresAt = at.get(b.txnId) ?? null;
    at.delete(b.txnId); // a second item with the same id finds it taken
    return leaseExpiresAt;
  });
}

/**
 * A Begin's participants as the folded layout holds them: in the order the
 * rows layout lists participants enlisted together (by name).
 */
function foldedParticipants(b: BeginInput): string {
  const named = [...b.participants].sort((x, y) =>
    x.name < y.name ? -1 : x.name > y.name ? 1 : 0,
  );
  return JSON.stringify(named.map((p) => ({ name: p.name, endpoint: p.endpoint })));
}

/**
 * Per transaction, an object by participant name of `pick`'s value for those
 * it gives one (null: none), for the folded rows of a batch statement.
 */
function byName<T>(
  participants: readonly ParticipantRecord[],
  pick: (p: ParticipantRecord) => T | undefined,
): string | null {
  const entries = participants.flatMap((p) => {
    const value = pick(p);
    return value === undefined ? [] : [[p.name, value] as const];
  });
  return entries.length === 0 ? null : JSON.stringify(Object.fromEntries(entries));
}

/** Enlists: the lease deadline of each newly enlisted participant; null for any other (the caller explains it). */
export async function writeEnlists(pool: Pool, batch: EnlistKey[]): Promise<(Date | null)[]> {
  const rows = await runQuery<{ txn_id: string; name: string; lease_expires_at: Date }>(
    pool,
    'enlist',
    [
      batch.map((b) => b.txnId),
      batch.map((b) => b.name),
      batch.map((b) => b.endpoint),
      LIMITS.PARTICIPANTS_MAX,
    ],
  );
  const inserted = new Map(rows.map((r) => [`${r.txn_id}/${r.name}`, r.lease_expires_at]));
  // Of two identical requests in one batch only the first counts as new.
  return batch.map((b) => {
    const key = `${b.txnId}/${b.name}`;
    const at = inserted.get(key) ?? null;
    inserted.delete(key);
    return at;
  });
}

/** Moves to PREPARING: the row of each transaction that was ACTIVE, else null. */
export async function writePreparings(
  pool: Pool,
  batch: PrepareKey[],
): Promise<(PreparingRow | null)[]> {
  // One owner and one setting per process: batches never mix them.
  const first = batch[0];
  if (first === undefined) {
    return [];
  }
  const rows = await runQuery<PreparingRow & { txn_id: string }>(pool, 'startPreparing', [
    batch.map((b) => b.txnId),
    first.ownerId,
    first.onePhaseAllowed,
  ]);
  const byId = new Map(rows.map((r) => [r.txn_id, r]));
  return batch.map((b) => {
    const row = byId.get(b.txnId) ?? null;
    byId.delete(b.txnId); // a second Commit of one transaction in a batch finds it taken
    return row;
  });
}

/** Conditional decision writes: what became of each. */
export async function writeDecisions(pool: Pool, batch: TxRecord[]): Promise<DecisionWrite[]> {
  // Rows are locked in txn_id order, the same in every batch.
  const txs = [...batch].sort((x, y) => (x.txnId < y.txnId ? -1 : 1));
  const ps = txs.flatMap((tx) =>
    tx.participants.filter((p) => !impliedByDecision(tx, p)).map((p) => ({ txnId: tx.txnId, p })),
  );
  const a = participantArrays(ps.map((x) => x.p));
  const rows = await runQuery<{ txn_id: string; allowed: boolean }>(pool, 'recordDecisions', [
    txs.map((t) => t.txnId),
    txs.map((t) => t.state),
    txs.map((t) => t.reason),
    txs.map((t) => t.onePhase),
    ps.map((x) => x.txnId),
    a.names,
    a.votes,
    a.reasons,
    a.acked,
    txs.map((t) =>
      byName(t.participants, (p) =>
        impliedByDecision(t, p)
          ? undefined
          : { vote: p.vote, vote_reason: p.voteReason, acked: p.acked },
      ),
    ),
  ]);
  const found = new Map(rows.map((r) => [r.txn_id, r.allowed]));
  return batch.map((t) => {
    const allowed = found.get(t.txnId);
    return allowed === undefined
      ? DecisionWrite.LOST
      : allowed
        ? DecisionWrite.LANDED
        : DecisionWrite.REFUSED;
  });
}

/**
 * Whether a participant's row need not be written with a decision: a plain
 * PREPARED vote in a two-phase commit decision is what the decision itself
 * says (every voter voted PREPARED or READ_ONLY), so the store derives it
 * (pg-rows.ts). The usual commit then writes only its transaction row.
 */
function impliedByDecision(tx: TxRecord, p: ParticipantRecord): boolean {
  return (
    isCommitDecision(tx.state, tx.onePhase) &&
    p.vote === Vote.PREPARED &&
    p.voteReason === null &&
    !p.acked
  );
}

/** Completions: whether each landed (from its expected state). */
export async function writeCompletions(pool: Pool, batch: CompletionItem[]): Promise<boolean[]> {
  const items = [...batch].sort((x, y) => (x.tx.txnId < y.tx.txnId ? -1 : 1));
  const ps = items.flatMap(({ tx }) => tx.participants.map((p) => ({ txnId: tx.txnId, p })));
  const a = participantArrays(ps.map((x) => x.p));
  const rows = await runQuery<{ txn_id: string }>(pool, 'recordCompletions', [
    items.map((i) => i.tx.txnId),
    items.map((i) => i.tx.state),
    items.map((i) => i.from),
    items.map((i) => i.tx.reason),
    ps.map((x) => x.txnId),
    a.names,
    a.acked,
    a.heuristics,
    items.map(({ tx }) =>
      byName(tx.participants, (p) => (p.acked && p.heuristic !== null ? p.heuristic : undefined)),
    ),
  ]);
  const written = new Set(rows.map((r) => r.txn_id));
  return batch.map((i) => written.has(i.tx.txnId));
}
