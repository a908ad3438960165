import type { ViewState } from './tx-state.ts';

/** Stable error codes, sent to clients in the `twopc-error-code` trailer. */
export const ErrorCode = {
  INVALID_ARGUMENT: 'TWOPC_INVALID_ARGUMENT',
  TX_NOT_FOUND: 'TWOPC_TX_NOT_FOUND',
  INVALID_TRANSITION: 'TWOPC_INVALID_TRANSITION',
  PARTICIPANT_CONFLICT: 'TWOPC_PARTICIPANT_CONFLICT',
  TX_EXISTS: 'TWOPC_TX_EXISTS',
  STORE_UNAVAILABLE: 'TWOPC_STORE_UNAVAILABLE',
  STORE_BUSY: 'TWOPC_STORE_BUSY',
  STORE_REFUSED_DATA: 'TWOPC_STORE_REFUSED_DATA',
  SHUTTING_DOWN: 'TWOPC_SHUTTING_DOWN',
  DEADLINE_EXCEEDED: 'TWOPC_DEADLINE_EXCEEDED',
  PARTICIPANT_UNAVAILABLE: 'TWOPC_PARTICIPANT_UNAVAILABLE',
  UNAUTHENTICATED: 'TWOPC_UNAUTHENTICATED',
  PERMISSION_DENIED: 'TWOPC_PERMISSION_DENIED',
  ENDPOINT_NOT_ALLOWED: 'TWOPC_ENDPOINT_NOT_ALLOWED',
  LIMIT_EXCEEDED: 'TWOPC_LIMIT_EXCEEDED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base of every error twopc raises on purpose. */
export class TwopcError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A request field is malformed or over a limit. */
export class InvalidArgumentError extends TwopcError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(ErrorCode.INVALID_ARGUMENT, `${field}: ${problem}`);
    this.field = field;
  }
}

/** The log does not know the transaction (presumed aborted). */
export class TxNotFoundError extends TwopcError {
  readonly txnId: string;
  constructor(txnId: string) {
    super(
      ErrorCode.TX_NOT_FOUND,
      `transaction ${txnId} not found (unknown transactions are aborted)`,
    );
    this.txnId = txnId;
  }
}

/** The request does not fit the transaction's state. */
export class InvalidTransitionError extends TwopcError {
  readonly txnId: string;
  readonly state: ViewState;
  constructor(txnId: string, state: ViewState, what: string) {
    super(ErrorCode.INVALID_TRANSITION, `transaction ${txnId} is ${state}: ${what}`);
    this.txnId = txnId;
    this.state = state;
  }
}

/** A participant name is already enlisted with another endpoint. */
export class ParticipantConflictError extends TwopcError {
  constructor(txnId: string, name: string, endpoint: string) {
    super(
      ErrorCode.PARTICIPANT_CONFLICT,
      `participant '${name}' is already enlisted in ${txnId} with endpoint ${endpoint}`,
    );
  }
}

/** A Begin named a transaction id the log already holds (and is not its repeat). */
export class TxExistsError extends TwopcError {
  readonly txnId: string;
  constructor(txnId: string) {
    super(
      ErrorCode.TX_EXISTS,
      `txn_id: transaction ${txnId} already exists; make a new id for a new transaction`,
    );
    this.txnId = txnId;
  }
}

/** The log store cannot be reached: the coordinator fails closed. */
export class StoreUnavailableError extends TwopcError {
  /** @param why what is unreachable, when more is known than "the log" (a shard of it) */
  constructor(cause: unknown, why?: string) {
    super(
      ErrorCode.STORE_UNAVAILABLE,
      why === undefined
        ? 'the transaction log is unreachable; retry later'
        : `the transaction log is unreachable (${why}); retry later`,
      { cause },
    );
  }
}

/** The log is too slow to take new work now; retry after `retryAfterMs`. */
export class StoreBusyError extends TwopcError {
  readonly retryAfterMs: number;
  constructor(why: string, retryAfterMs: number) {
    super(
      ErrorCode.STORE_BUSY,
      `the transaction log is overloaded (${why}); no new work is taken, retry in ${retryAfterMs} ms`,
    );
    this.retryAfterMs = retryAfterMs;
  }
}

/** The coordinator is stopping and takes no new work. */
export class ShuttingDownError extends TwopcError {
  constructor() {
    super(ErrorCode.SHUTTING_DOWN, 'the coordinator is shutting down; retry on another instance');
  }
}

/** The caller's deadline passed before the answer was known. */
export class DeadlineExceededError extends TwopcError {
  constructor(what: string) {
    super(ErrorCode.DEADLINE_EXCEEDED, what);
  }
}

/**
 * The log refused a write for its data (SQLSTATE class 22, 23 or 54): the
 * same write would be refused again, so it is an error of the call that
 * made it, never "the store is unreachable", and never retried.
 */
export class StoreRefusedDataError extends TwopcError {
  readonly sqlstate: string;
  constructor(sqlstate: string, detail: string, cause?: unknown) {
    super(
      ErrorCode.STORE_REFUSED_DATA,
      `the log refused this data (SQLSTATE ${sqlstate}: ${detail})`,
      { cause },
    );
    this.sqlstate = sqlstate;
  }
}

/** A participant could not be reached or failed a call. */
export class ParticipantUnavailableError extends TwopcError {
  readonly participant: string;
  /**
   * Whether the request may have reached the participant. False only when
   * it provably never left: no connection was made for it (refused, TLS
   * handshake failed), or it was not sent at all.
   */
  readonly mayHaveReached: boolean;
  /** What the other side said, in its own words: for the operator's log only, never a client. */
  readonly remoteWords: string | null;
  constructor(
    participant: string,
    detail: string,
    cause?: unknown,
    mayHaveReached = true,
    remoteWords: string | null = null,
  ) {
    super(ErrorCode.PARTICIPANT_UNAVAILABLE, `participant '${participant}': ${detail}`, { cause });
    this.participant = participant;
    this.mayHaveReached = mayHaveReached;
    this.remoteWords = remoteWords;
  }
}

/** The call carries no valid identity (certificate or token). */
export class UnauthenticatedError extends TwopcError {
  constructor(why: string) {
    super(ErrorCode.UNAUTHENTICATED, why);
  }
}

/** The caller is known but its roles do not allow the call. */
export class PermissionDeniedError extends TwopcError {
  constructor(why: string) {
    super(ErrorCode.PERMISSION_DENIED, why);
  }
}

/** A participant endpoint outside the operator's policy: never dialled. */
export class EndpointNotAllowedError extends TwopcError {
  readonly participant: string;
  constructor(participant: string, why: string) {
    super(ErrorCode.ENDPOINT_NOT_ALLOWED, `participant '${participant}': ${why}`);
    this.participant = participant;
  }
}

/** An admission cap is reached; retry after `retryAfterMs` (null: a retry cannot help). */
export class LimitExceededError extends TwopcError {
  readonly limit: string;
  readonly retryAfterMs: number | null;
  constructor(limit: string, detail: string, retryAfterMs: number | null) {
    super(
      ErrorCode.LIMIT_EXCEEDED,
      `${limit}: ${detail}${retryAfterMs === null ? '' : `; retry in ${retryAfterMs} ms`}`,
    );
    this.limit = limit;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Turns anything thrown into an Error. */
export function coerceError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
