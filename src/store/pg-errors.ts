import { StoreUnavailableError, TwopcError } from '../core/errors.ts';

/** SQLSTATE: unique_violation. */
export const UNIQUE_VIOLATION = '23505';

/** SQLSTATEs after which the same statement may succeed on a retry. */
export const RETRYABLE = new Set(['40001', '40P01']);

/**
 * SQLSTATE classes and codes that mean the server is gone or refusing work:
 * connection exceptions (08), operator intervention (57P01-57P03), too many
 * connections (53300), read-only standby (25006).
 */
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', '25006']);
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

/** Whether an error from pg means the store could not be reached. */
export function isConnectionError(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined) {
    return code.startsWith('08') || UNAVAILABLE_CODES.has(code) || UNAVAILABLE_NODE_CODES.has(code);
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
 * Maps driver errors to typed errors: connection problems become
 * StoreUnavailableError; everything else is rethrown unchanged.
 */
export function classifyStoreError(err: unknown): unknown {
  return isConnectionError(err) ? new StoreUnavailableError(err) : err;
}
