import { stateFromWire, wireStateName } from 'twopc/internal/wire/wire-state';
import { outcomeOf, viewStateOf } from '../core/decide.ts';
import { Outcome, TxState, Vote } from 'twopc/internal/contract/tx-state';
import type { ViewState } from 'twopc/internal/contract/tx-state';
import type { OutcomeResult } from '../coordinator/coordinator.ts';
import type { ParticipantView, TxView } from '../store/transaction-store.ts';
import type { Outcome__Output } from 'twopc/internal/wire/generated/twopc/v1/Outcome';
import type { ParticipantStatus } from 'twopc/internal/wire/generated/twopc/v1/ParticipantStatus';
import type { Transaction } from 'twopc/internal/wire/generated/twopc/v1/Transaction';
import type { TransactionState__Output } from 'twopc/internal/wire/generated/twopc/v1/TransactionState';
import type { Vote__Output } from 'twopc/internal/wire/generated/twopc/v1/Vote';
import { traceIdOf } from 'twopc/internal/telemetry/tracing';
import { toTimestamp } from 'twopc/internal/wire/proto';

/** Core outcome → wire enum. */
export function wireOutcome(outcome: Outcome | null): Outcome__Output {
  switch (outcome) {
    case Outcome.PENDING:
      return 'OUTCOME_PENDING';
    case Outcome.COMMITTED:
      return 'OUTCOME_COMMITTED';
    case Outcome.ABORTED:
      return 'OUTCOME_ABORTED';
    case null:
      return 'OUTCOME_UNSPECIFIED';
  }
}

/** A shown state (a core state, or IN_DOUBT) → wire enum. */
export function wireState(state: ViewState): TransactionState__Output {
  return wireStateName(state);
}

/** Wire state → shown state (a list filter), or null for UNSPECIFIED/unknown. */
export function viewState(state: string | number): ViewState | null {
  return stateFromWire(state);
}

function wireVote(vote: Vote | null): Vote__Output {
  switch (vote) {
    case Vote.PREPARED:
      return 'VOTE_PREPARED';
    case Vote.READ_ONLY:
      return 'VOTE_READ_ONLY';
    case Vote.ABORT:
      return 'VOTE_ABORT';
    case null:
      return 'VOTE_UNSPECIFIED';
  }
}

/**
 * A participant as the proto describes it: `acknowledged` is also true for a
 * READ_ONLY or ABORT voter, which is owed no phase 2 (in two-phase commit;
 * a one-phase participant's answer is the outcome).
 */
function wireParticipant(tx: TxView, p: ParticipantView): ParticipantStatus {
  const owesNothing = !tx.onePhase && (p.vote === Vote.READ_ONLY || p.vote === Vote.ABORT);
  const acknowledged = p.acked || owesNothing;
  return {
    name: p.name,
    endpoint: p.endpoint,
    vote: wireVote(p.vote),
    voteReason: p.voteReason ?? '',
    acknowledged,
    acknowledgedAt: toTimestamp(p.ackedAt),
    attempts: p.attempts,
    lastError: p.lastError ?? '',
    nextAttemptAt: acknowledged ? null : toTimestamp(p.nextAttemptAt),
    heuristicOutcome: wireOutcome(p.heuristic),
    enlistedAt: toTimestamp(p.enlistedAt),
    votedAt: toTimestamp(p.votedAt),
  };
}

/** Whether phase 2 is unfinished `stuckAfterMs` after the decision (judged on the database clock). */
export function isStuck(tx: TxView, stuckAfterMs: number): boolean {
  const delivering = tx.state === TxState.COMMITTING || tx.state === TxState.ABORTING;
  return (
    delivering &&
    tx.decidedAt !== null &&
    tx.dbNow.getTime() - tx.decidedAt.getTime() > stuckAfterMs
  );
}

/** A logged transaction → wire message. */
export function wireTransaction(tx: TxView, stuckAfterMs: number): Transaction {
  return {
    txnId: tx.txnId,
    state: wireState(viewStateOf(tx)),
    outcome: wireOutcome(outcomeOf(tx)),
    reason: tx.reason ?? '',
    labels: tx.labels,
    participants: tx.participants.map((p) => wireParticipant(tx, p)),
    createdAt: toTimestamp(tx.createdAt),
    leaseExpiresAt: toTimestamp(tx.leaseExpiresAt),
    decidedAt: toTimestamp(tx.decidedAt),
    finishedAt: toTimestamp(tx.finishedAt),
    onePhase: tx.onePhase,
    traceId: traceIdOf(tx.traceContext),
    stuck: isStuck(tx, stuckAfterMs),
    heuristic: tx.participants.some((p) => p.heuristic !== null),
    operatorActions: tx.operatorActions.map((a) => ({
      at: toTimestamp(a.at),
      action: a.action,
      participant: a.participant ?? '',
      detail: a.detail,
      principal: a.principal ?? '',
    })),
    tenant: tx.tenant,
    principal: tx.principal ?? '',
  };
}

/** Commit/Abort answer → wire message. */
export function wireOutcomeResult(result: OutcomeResult): {
  outcome: Outcome__Output;
  reason: string;
  state: TransactionState__Output;
} {
  return {
    outcome: wireOutcome(result.outcome),
    reason: result.reason ?? '',
    state: wireState(result.state),
  };
}
