import type { ParticipantRecord, TxId, TxRecord } from '../core/tx-record.ts';
import type { Outcome, TxState, ViewState } from 'twopc/internal/contract/tx-state';

/** A participant as the log shows it. */
export interface ParticipantView extends ParticipantRecord {
  readonly enlistedAt: Date;
  readonly ackedAt: Date | null;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly nextAttemptAt: Date | null;
  readonly votedAt: Date | null;
}

/** What an operator did to a transaction (its audit trail's kinds). */
export type OperatorActionKind = 'RETRY' | 'ABORT' | 'RESOLVE';

/** An operator's resolution of a participant, with what its audit row says. */
export interface Resolution {
  readonly txnId: TxId;
  readonly participant: string;
  readonly detail: string;
  readonly principal: string | null;
  /**
   * In doubt: the final state and reason the operator's outcome gives the
   * transaction (the core decides them); null for a decided transaction,
   * whose participant then counts as acknowledged.
   */
  readonly final: { readonly state: TxState; readonly reason: string | null } | null;
}

/** An audited operator action. */
export interface OperatorActionView {
  readonly at: Date;
  readonly action: string;
  readonly participant: string | null;
  readonly detail: string;
  /** Who did it (null: before principals were recorded). */
  readonly principal: string | null;
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
  /** The tenant of the caller that began it. */
  readonly tenant: string;
  /** The principal that began it (null when nobody was authenticated). */
  readonly principal: string | null;
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
  readonly tenant: string;
  readonly principal: string | null;
}

/** What became of a conditional decision write. */
export const DecisionWrite = {
  /** The decision is logged. */
  LANDED: 'LANDED',
  /** Another decision was logged first (read it). */
  LOST: 'LOST',
  /**
   * A commit decision refused: the store restarted (or was promoted) since
   * the transaction began, so a write acknowledged to its client may have
   * been lost. The transaction can only abort.
   */
  REFUSED: 'REFUSED',
} as const;
export type DecisionWrite = (typeof DecisionWrite)[keyof typeof DecisionWrite];

/** A transaction moved to PREPARING, as the claim read it. */
export interface PreparingTx extends TxRecord {
  readonly traceContext: string | null;
  /** False when the store restarted since Begin: the transaction can only abort. */
  readonly storeIntact: boolean;
  /**
   * Some participant was enlisted after Begin (or the log cannot tell). An
   * Enlist is written unforced: such a participant gets its Prepare only
   * once a forced write after the claim (or a forced claim) has landed.
   */
  readonly enlistedAfterBegin: boolean;
}

export interface ListFilter {
  /** Shown states: ABORTING leaves out, IN_DOUBT selects, one-phase ABORTING rows (see ViewState). */
  readonly states: readonly ViewState[];
  readonly minAgeSeconds: number;
  readonly limit: number;
  readonly after: { readonly createdAt: Date; readonly txnId: string } | null;
  /** Only COMMITTING/ABORTING transactions decided more than this long ago. */
  readonly stuckAfterMs: number | null;
  readonly heuristicOnly: boolean;
  readonly labels: Record<string, string>;
  /** Only this tenant's transactions (null: every tenant). */
  readonly tenant: string | null;
  /** Only those this participant is enlisted in (null: any). */
  readonly participant: string | null;
}

/** Who may see a transaction. */
export interface TxAccess {
  readonly tenant: string;
  /** Whether the participant asked about is enlisted. */
  readonly enlisted: boolean;
}

/**
 * The log as transaction runs and the API see it: every call names its
 * transaction (or asks about all of them), so it works the same over one
 * log or shards of it. Every method is one round trip unless it says
 * otherwise.
 */
export interface TransactionLog {
  /** A new transaction id, naming where the transaction will live (no I/O). */
  newTxnId(): TxId;
  /** Logs a new ACTIVE transaction with the store's incarnation (not forced). */
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
   * Durable: the claim is forced, so every Enlist it saw is durable once it
   * lands (otherwise the claim, like an Enlist, is written unforced).
   */
  startPreparing(
    txnId: TxId,
    ownerId: string,
    onePhaseAllowed: boolean,
    durable?: boolean,
  ): Promise<PreparingTx | null>;
  /**
   * The conditional decision write (the new state, its reason and the votes
   * collected): it lands only while the transaction is ACTIVE or PREPARING,
   * and a commit only while the store has not restarted since the
   * transaction began. Forced: every decision is told to someone once it is
   * logged, so it is durable first (DESIGN §3 rule 2).
   */
  recordDecision(tx: TxRecord): Promise<DecisionWrite>;
  /**
   * Forced: makes a one-phase PREPARING claim durable before its Commit
   * leaves. False when the store restarted since Begin or the claim is gone.
   */
  confirmOnePhase(txnId: TxId): Promise<boolean>;
  /**
   * Forced durability barrier for a state read back from the log: returns
   * the state, now durable, or null when the transaction is unknown.
   */
  makeDurable(txnId: TxId): Promise<TxState | null>;
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
  /**
   * Moves a transaction from `from` to its final state with all acks. Not
   * forced unless `forced`: after a durable decision, losing it only repeats
   * phase 2; a one-phase outcome is first recorded here, so it is forced.
   */
  recordCompletion(tx: TxRecord, from: TxState, forced: boolean): Promise<boolean>;
  /** One transaction, or null. */
  get(txnId: TxId): Promise<TxView | null>;
  /** Transactions newest first, keyset-paged. */
  list(filter: ListFilter): Promise<TxView[]>;
  /** Appends to the audit trail of operator actions. */
  recordOperatorAction(
    txnId: TxId,
    action: OperatorActionKind,
    participant: string | null,
    detail: string,
    principal: string | null,
  ): Promise<void>;
  /**
   * Records an operator's resolution and its audit row in one conditional
   * write (DESIGN §3 rule 15): false, with nothing written, when the
   * participant was acknowledged or resolved first (two operators, two
   * coordinators, or one operator clicking twice), or the transaction moved
   * on. Forced.
   */
  claimResolution(resolution: Resolution): Promise<boolean>;
  /** A transaction's tenant, and whether `participant` is enlisted in it; null if unknown. */
  access(txnId: TxId, participant: string | null): Promise<TxAccess | null>;
  /** Unfinished transactions of a tenant (null: all tenants), for admission caps. */
  openCount(tenant: string | null): Promise<number>;
}

/**
 * One durable log (one PostgreSQL database, or one shard of the log): the
 * routed calls, and the background work a coordinator does per log (its
 * lease, recovery, retention). The only module that speaks SQL.
 */
export interface TransactionStore extends TransactionLog {
  /**
   * This coordinator's unfinished, undecided-or-delivering transactions that
   * nothing touched for `idleMs`: work the log says is owed.
   */
  ownStale(ownerId: string, idleMs: number, limit: number): Promise<TxView[]>;
  /** The store's incarnation: it changes when PostgreSQL restarts after a crash or is promoted. */
  incarnation(): Promise<string>;
  /** Aborts up to `limit` ACTIVE transactions whose lease ran out; returns them. */
  expireLeases(ownerId: string, limit: number): Promise<TxView[]>;
  /** Takes over up to `limit` unfinished transactions whose owner is dead; returns them. */
  claimOrphans(ownerId: string, limit: number): Promise<TxView[]>;
  /** Registers this coordinator incarnation; earlier incarnations of `name` are declared dead. */
  registerCoordinator(id: string, name: string, leaseMs: number): Promise<void>;
  /** Renews the incarnation's lease; false if it had been declared dead. */
  renewCoordinator(id: string, leaseMs: number): Promise<boolean>;
  /**
   * Reads which releases the live coordinators run and picks the layout
   * Begin creates from it (log-layout.ts layoutAmong): at registration and
   * each renewal. Returns the new layout and those releases when it
   * changed, else null. Absent: the store has one layout.
   */
  refreshCreatedLayout?(): Promise<{ layout: string; versions: (string | null)[] } | null>;
  /** Removes the incarnation (clean shutdown): its unfinished work is free to take over. */
  deregisterCoordinator(id: string): Promise<void>;
  /** Deletes up to `limit` transactions finished more than `retentionMs` ago. */
  deleteFinished(retentionMs: number, limit: number): Promise<number>;
  /** Stuck (phase 2 unfinished `stuckAfterMs` after the decision) and IN_DOUBT counts. */
  backlog(stuckAfterMs: number): Promise<{ stuck: number; inDoubt: number }>;
  /** New work waiting on the log, and refused so far (admission), for metrics. */
  admissionStats(): { pending: number; refused: number };
  /** Pool usage, for metrics. */
  poolStats(): { pool: string; total: number; idle: number; waiting: number }[];
  /** Answers whether the store is reachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
