import type { ParticipantRecord, TxId, TxRecord } from '../core/tx-record.ts';
import type { Outcome, TxState } from '../core/tx-state.ts';

/** A participant as the log shows it. */
export interface ParticipantView extends ParticipantRecord {
  readonly enlistedAt: Date;
  readonly ackedAt: Date | null;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly nextAttemptAt: Date | null;
  readonly votedAt: Date | null;
}

/** An audited operator action. */
export interface OperatorActionView {
  readonly at: Date;
  readonly action: string;
  readonly participant: string | null;
  readonly detail: string;
}

/** A transaction as the log shows it. */
export interface TxView extends TxRecord {
  readonly participants: readonly ParticipantView[];
  readonly labels: Record<string, string>;
  readonly leaseMs: number;
  readonly leaseExpiresAt: Date;
  readonly createdAt: Date;
  readonly decidedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly ownerId: string | null;
  readonly traceContext: string | null;
  /** The database's clock when the row was read (stuck is judged on it). */
  readonly dbNow: Date;
  readonly operatorActions: readonly OperatorActionView[];
}

export interface BeginInput {
  readonly txnId: TxId;
  readonly leaseMs: number;
  readonly labels: Record<string, string>;
  readonly participants: readonly { name: string; endpoint: string }[];
  readonly ownerId: string;
  readonly traceContext: string | null;
}

/** A decision to log: the new state, the reason and the votes collected. */
export interface DecisionInput {
  readonly tx: TxRecord;
  /**
   * Force the write to disk before answering (synchronous_commit = on). Only
   * a commit decision needs it: presumed abort makes every other write safe
   * to lose.
   */
  readonly forced: boolean;
}

export interface ListFilter {
  readonly states: readonly TxState[];
  readonly minAgeSeconds: number;
  readonly limit: number;
  readonly after: { readonly createdAt: Date; readonly txnId: string } | null;
  /** Only COMMITTING/ABORTING transactions decided more than this long ago. */
  readonly stuckAfterMs: number | null;
  readonly heuristicOnly: boolean;
  readonly labels: Record<string, string>;
}

/**
 * The durable log. The only module that speaks SQL; every method is one
 * round trip unless it says otherwise.
 */
export interface TransactionStore {
  /** Logs a new ACTIVE transaction (not forced). */
  begin(input: BeginInput): Promise<{ leaseExpiresAt: Date }>;
  /**
   * Adds a participant to an ACTIVE transaction; idempotent per name.
   * @throws TxNotFoundError, InvalidTransitionError, ParticipantConflictError
   */
  enlist(
    txnId: TxId,
    name: string,
    endpoint: string,
  ): Promise<{ newlyEnlisted: boolean; leaseExpiresAt: Date }>;
  /**
   * Extends the lease of an ACTIVE transaction (never shortens it).
   * @throws TxNotFoundError, InvalidTransitionError
   */
  heartbeat(
    txnId: TxId,
    extendMs: number | null,
  ): Promise<{ state: TxState; leaseExpiresAt: Date }>;
  /**
   * Moves ACTIVE to PREPARING and returns the participants to prepare, or
   * null when the transaction is not ACTIVE (read it to learn why).
   */
  startPreparing(
    txnId: TxId,
    ownerId: string,
    onePhaseAllowed: boolean,
  ): Promise<(TxRecord & { traceContext: string | null }) | null>;
  /**
   * The conditional decision write: it lands only while the transaction is
   * ACTIVE or PREPARING. Returns false when another decision won.
   */
  recordDecision(input: DecisionInput): Promise<boolean>;
  /** Marks one participant's phase-2 acknowledgement (not forced). */
  recordAck(txnId: TxId, name: string, heuristic: Outcome | null): Promise<void>;
  /** Stores a failed phase-2 attempt and when it is retried (not forced). */
  recordDeliveryFailure(
    txnId: TxId,
    name: string,
    attempts: number,
    error: string,
    retryInMs: number,
  ): Promise<void>;
  /** Moves a transaction from `from` to its final state with all acks (not forced). */
  recordCompletion(tx: TxRecord, from: TxState): Promise<boolean>;
  /** One transaction, or null. */
  get(txnId: TxId): Promise<TxView | null>;
  /** Transactions newest first, keyset-paged. */
  list(filter: ListFilter): Promise<TxView[]>;
  /** Aborts up to `limit` ACTIVE transactions whose lease ran out; returns them. */
  expireLeases(ownerId: string, limit: number): Promise<TxView[]>;
  /** Takes over up to `limit` unfinished transactions whose owner is dead; returns them. */
  claimOrphans(ownerId: string, limit: number): Promise<TxView[]>;
  /** Registers this coordinator incarnation; earlier incarnations of `name` are declared dead. */
  registerCoordinator(id: string, name: string, leaseMs: number): Promise<void>;
  /** Renews the incarnation's lease; false if it had been declared dead. */
  renewCoordinator(id: string, leaseMs: number): Promise<boolean>;
  /** Removes the incarnation (clean shutdown): its unfinished work is free to take over. */
  deregisterCoordinator(id: string): Promise<void>;
  /** Deletes up to `limit` transactions finished more than `retentionMs` ago. */
  deleteFinished(retentionMs: number, limit: number): Promise<number>;
  /** Appends to the audit trail of operator actions. */
  recordOperatorAction(
    txnId: TxId,
    action: 'RETRY' | 'ABORT' | 'RESOLVE',
    participant: string | null,
    detail: string,
  ): Promise<void>;
  /** Stuck (phase 2 unfinished `stuckAfterMs` after the decision) and in-doubt (PREPARING) counts. */
  backlog(stuckAfterMs: number): Promise<{ stuck: number; inDoubt: number }>;
  /** Pool usage, for metrics. */
  poolStats(): { pool: string; total: number; idle: number; waiting: number }[];
  /** Answers whether the store is reachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
