import type { ParticipantRecord, TxId } from '../core/tx-record.ts';
import { TxState, Vote } from 'twopc/internal/contract/tx-state';
import type { Outcome } from 'twopc/internal/contract/tx-state';
import type { ParticipantView, TxView } from './transaction-store.ts';

/**
 * A transaction row joined with its participants as JSON (see TX_COLUMNS):
 * rows of twopc_participants, or the folded array, whichever layout the row
 * has (log-layout.ts).
 */
export interface TxRow {
  txn_id: string;
  state: TxState;
  reason: string | null;
  labels: Record<string, string>;
  lease_ms: number;
  lease_expires_at: Date;
  one_phase: boolean;
  owner_id: string | null;
  trace_context: string | null;
  tenant: string;
  principal: string | null;
  created_at: Date;
  decided_at: Date | null;
  finished_at: Date | null;
  db_now: Date;
  participants: ParticipantJson[];
  operator_actions: {
    at: string;
    action: string;
    participant: string | null;
    detail: string;
    principal: string | null;
  }[];
}

/**
 * A participant as a row of twopc_participants shows it, or as an element of
 * a folded array holds it: there a field is absent until it is known, and
 * enlisted_at is absent for those named at Begin (enlisted with the row).
 */
interface ParticipantJson {
  name: string;
  endpoint: string;
  enlisted_at?: string;
  vote?: Vote | null | undefined;
  vote_reason?: string | null;
  acked_at?: string | null;
  attempts?: number;
  last_error?: string | null;
  next_attempt_at?: string | null;
  heuristic?: Outcome | null;
  voted_at?: string | null;
}

/** The select list that TxRow maps; `t` is the transactions table. */
export const TX_COLUMNS = `t.txn_id, t.state, t.reason, t.labels, t.lease_ms, t.lease_expires_at,
  t.one_phase, t.owner_id, COALESCE(t.trace_context, t.trace) AS trace_context, t.tenant, t.principal, t.created_at,
  t.decided_at, t.finished_at, now() AS db_now,
  CASE WHEN t.participants IS NULL
    THEN COALESCE((SELECT json_agg(p ORDER BY p.enlisted_at, p.name)
                   FROM twopc_participants p WHERE p.txn_id = t.txn_id), '[]')
    ELSE t.participants::json END AS participants,
  COALESCE((SELECT json_agg(json_build_object('at', a.at, 'action', a.action, 'participant', a.participant, 'detail', a.detail, 'principal', a.principal) ORDER BY a.at, a.id)
            FROM twopc_operator_actions a WHERE a.txn_id = t.txn_id), '[]') AS operator_actions`;

const date = (value: string | null | undefined): Date | null =>
  value === null || value === undefined ? null : new Date(value);

function toParticipant(p: ParticipantJson, createdAt: Date): ParticipantView {
  return {
    name: p.name,
    endpoint: p.endpoint,
    vote: p.vote ?? null,
    voteReason: p.vote_reason ?? null,
    acked: p.acked_at !== null && p.acked_at !== undefined,
    heuristic: p.heuristic ?? null,
    enlistedAt: date(p.enlisted_at) ?? createdAt,
    ackedAt: date(p.acked_at),
    attempts: p.attempts ?? 0,
    lastError: p.last_error ?? null,
    nextAttemptAt: date(p.next_attempt_at),
    votedAt: date(p.voted_at),
  };
}

/** A two-phase commit decision: every participant voted PREPARED or READ_ONLY. */
export function isCommitDecision(state: TxState, onePhase: boolean): boolean {
  return !onePhase && (state === TxState.COMMITTING || state === TxState.COMMITTED);
}

/**
 * The decision write leaves plain PREPARED votes of a commit unwritten
 * (writeDecisions): an unrecorded vote under a two-phase commit decision is
 * PREPARED, cast at the latest when the decision was logged.
 */
function withDerivedVotes(row: TxRow, participants: ParticipantView[]): ParticipantView[] {
  if (!isCommitDecision(row.state, row.one_phase) || row.decided_at === null) {
    return participants;
  }
  const decidedAt = row.decided_at;
  return participants.map((p) =>
    p.vote === null ? { ...p, vote: Vote.PREPARED, votedAt: decidedAt } : p,
  );
}

/**
 * Whether a participant owed an acknowledgement in a finished transaction:
 * every PREPARED voter of a commit; for an abort everyone but the ABORT and
 * READ_ONLY voters; the single participant of a one-phase commit.
 */
function owedAck(row: TxRow, p: ParticipantView): boolean {
  if (row.one_phase) {
    return true;
  }
  return row.state === 'COMMITTED'
    ? p.vote === 'PREPARED'
    : p.vote !== 'ABORT' && p.vote !== 'READ_ONLY';
}

/**
 * A finished transaction's completion write does not touch participant rows
 * (see recordCompletions): those that owed an acknowledgement gave it, at
 * the latest when the transaction finished.
 */
function withDerivedAcks(row: TxRow, participants: ParticipantView[]): ParticipantView[] {
  if ((row.state !== 'COMMITTED' && row.state !== 'ABORTED') || row.finished_at === null) {
    return participants;
  }
  const finishedAt = row.finished_at;
  return participants.map((p) =>
    p.acked || !owedAck(row, p)
      ? p
      : { ...p, acked: true, ackedAt: finishedAt, nextAttemptAt: null },
  );
}

/** Maps a TxRow to the store's view. */
export function toTxView(row: TxRow): TxView {
  return {
    txnId: row.txn_id as TxId,
    state: row.state,
    reason: row.reason,
    onePhase: row.one_phase,
    participants: withDerivedAcks(
      row,
      withDerivedVotes(
        row,
        row.participants.map((p) => toParticipant(p, row.created_at)),
      ),
    ),
    labels: row.labels,
    leaseMs: row.lease_ms,
    leaseExpiresAt: row.lease_expires_at,
    createdAt: row.created_at,
    decidedAt: row.decided_at,
    finishedAt: row.finished_at,
    ownerId: row.owner_id,
    traceContext: row.trace_context,
    tenant: row.tenant,
    principal: row.principal,
    dbNow: row.db_now,
    operatorActions: row.operator_actions.map((a) => ({
      at: new Date(a.at),
      action: a.action,
      participant: a.participant,
      detail: a.detail,
      principal: a.principal,
    })),
  };
}

/** Column arrays for unnest(): one entry per participant. */
export function participantArrays(participants: readonly ParticipantRecord[]): {
  names: string[];
  votes: (string | null)[];
  reasons: (string | null)[];
  acked: boolean[];
  heuristics: (string | null)[];
} {
  return {
    names: participants.map((p) => p.name),
    votes: participants.map((p) => p.vote),
    reasons: participants.map((p) => p.voteReason),
    acked: participants.map((p) => p.acked),
    heuristics: participants.map((p) => p.heuristic),
  };
}
