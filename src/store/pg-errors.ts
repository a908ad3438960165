import {
  StoreRefusedDataError,
  StoreUnavailableError,
  TwopcError,
} from 'twopc/internal/contract/errors';

/** SQLSTATE: unique_violation. */
export const UNIQUE_VIOLATION = '23505';

/** SQLSTATEs after which the same statement may succeed on a retry. */
export const RETRYABLE = new Set(['40001', '40P01']);

/**
 * SQLSTATE classes and codes that mean the server is gone, overloaded or
 * refusing writes (the coordinator fails closed and retries, it never
 * guesses): connection exceptions (class 08), insufficient resources
 * (class 53: too many connections, out of memory, disk full), system errors
 * (class 58: I/O), operator intervention (57P01-57P05), a statement
 * cancelled by statement_timeout (57014), read-only (25006: a standby or
 * default_transaction_read_only), and a standby still in recovery refusing
 * a statement that names the UNLOGGED incarnation table (below). Each means
 * "the log is not a writable primary right now": UNAVAILABLE to clients,
 * retried, counted as the store being away, new transactions steered to
 * another shard; never INTERNAL.
 */
const UNAVAILABLE_CLASSES = ['08', '53', '58'];
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '57P04', '57P05', '57014', '25006']);

/**
 * SQLSTATE 0A000 (feature not supported) is raised by PostgreSQL's planner
 * (routine `get_relation_info`) for "cannot access temporary or unlogged
 * relations during recovery": a standby, or a node whose promotion is still
 * finishing while a proxy already routes to it. The routine tells it from
 * other 0A000 errors (such as "cached plan must not change result type",
 * which a retry on the same connection would only repeat) without reading
 * the message, which the server may translate.
 */
const IN_RECOVERY = { code: '0A000', routine: 'get_relation_info' } as const;
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

function codeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

function routineOf(err: unknown): string | undefined {
  const routine = (err as { routine?: unknown } | null)?.routine;
  return typeof routine === 'string' ? routine : undefined;
}

/** Whether an error from pg means the store could not be reached. */
export function isConnectionError(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined) {
    return (
      UNAVAILABLE_CLASSES.some((c) => code.startsWith(c)) ||
      UNAVAILABLE_CODES.has(code) ||
      UNAVAILABLE_NODE_CODES.has(code) ||
      (code === IN_RECOVERY.code && routineOf(err) === IN_RECOVERY.routine)
    );
  }
  // pg reports a connection dropped mid-query and a pool checkout timeout
  // with plain Errors and no code; anything without a SQLSTATE that reached
  // us from the driver is treated as the store being unreachable.
  return err instanceof Error && !(err instanceof TwopcError) && !('severity' in err);
}

/** Whether a statement failed on a deadlock or serialization failure (safe to run again). */
export function isRetryable(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && RETRYABLE.has(code);
}

/** Whether an error is a unique violation. */
export function isUniqueViolation(err: unknown): boolean {
  return codeOf(err) === UNIQUE_VIOLATION;
}

/**
 * SQLSTATE classes of a write refused for its data: data exception (22:
 * an invalid byte sequence such as U+0000, a value out of range),
 * integrity constraint violation (23, but for the unique violation the
 * store handles itself), program limit exceeded (54). The same statement
 * with the same data fails the same way every time.
 */
const DATA_CLASSES = ['22', '23', '54'];

/** Whether an error from pg means the statement's data was refused. */
export function isDataError(err: unknown): boolean {
  const code = codeOf(err);
  return (
    code !== undefined && code !== UNIQUE_VIOLATION && DATA_CLASSES.some((c) => code.startsWith(c))
  );
}

/**
 * Maps driver errors to typed errors: connection problems become
 * StoreUnavailableError, data refused StoreRefusedDataError; everything
 * else is rethrown unchanged.
 */
export function classifyStoreError(err: unknown): unknown {
  if (isDataError(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return new StoreRefusedDataError(codeOf(err) ?? '', message, err);
  }
  return isConnectionError(err) ? new StoreUnavailableError(err) : err;
}

/** Whether a classified error is a write refused for its data. */
export function isRefusedData(err: unknown): boolean {
  return err instanceof StoreRefusedDataError;
}
