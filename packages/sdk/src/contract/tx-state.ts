/**
 * States of a distributed transaction, as stored in the log (a CHECK
 * constraint keeps the column to these strings).
 */
export const TxState = {
  ACTIVE: 'ACTIVE',
  PREPARING: 'PREPARING',
  COMMITTING: 'COMMITTING',
  ABORTING: 'ABORTING',
  COMMITTED: 'COMMITTED',
  ABORTED: 'ABORTED',
} as const;
export type TxState = (typeof TxState)[keyof typeof TxState];

/** Every state, in protocol order. */
export const TX_STATES: readonly TxState[] = Object.values(TxState);

/**
 * A transaction's state as the API, the CLI and the console show it: its
 * state in the log, but IN_DOUBT for a one-phase transaction whose Commit
 * may have landed and whose answer never came (logged ABORTING with
 * `one_phase`): only its participant knows the outcome, the coordinator
 * keeps asking it, and an operator who has read the participant's own
 * state resolves it. PREPARING is not in doubt: the coordinator decides it.
 */
export const ViewState = { ...TxState, IN_DOUBT: 'IN_DOUBT' } as const;
export type ViewState = (typeof ViewState)[keyof typeof ViewState];

/** Every state a transaction is shown in, in protocol order. */
export const VIEW_STATES: readonly ViewState[] = Object.values(ViewState);

/** States after which nothing more happens to a transaction. */
export function isTerminal(state: ViewState): boolean {
  return state === TxState.COMMITTED || state === TxState.ABORTED;
}

/** States that carry a decision (commit or abort), durable in the log. */
export function isDecided(state: TxState): boolean {
  return state !== TxState.ACTIVE && state !== TxState.PREPARING;
}

/** A participant's phase-1 vote. */
export const Vote = {
  PREPARED: 'PREPARED',
  READ_ONLY: 'READ_ONLY',
  ABORT: 'ABORT',
} as const;
export type Vote = (typeof Vote)[keyof typeof Vote];

/** The outcome of a transaction, or of one participant's branch. */
export const Outcome = {
  PENDING: 'PENDING',
  COMMITTED: 'COMMITTED',
  ABORTED: 'ABORTED',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** Abort reasons the coordinator itself produces. */
export const AbortReason = {
  LEASE_EXPIRED: 'LEASE_EXPIRED',
  COORDINATOR_RECOVERY: 'COORDINATOR_RECOVERY',
  CLIENT_ABORT: 'CLIENT_ABORT',
  /**
   * The log's PostgreSQL restarted after a crash, or a standby was promoted,
   * since the transaction began: a write acknowledged to its client may have
   * been lost, so it cannot commit.
   */
  LOG_STORE_RESTARTED: 'LOG_STORE_RESTARTED',
} as const;
