import * as grpc from '@grpc/grpc-js';
import {
  ErrorCode,
  LimitExceededError,
  StoreBusyError,
  TwopcError,
} from 'twopc/internal/contract/errors';

/** The trailer that tells a client how long to wait before retrying (gRPC retry pushback). */
export const RETRY_PUSHBACK = 'grpc-retry-pushback-ms';

/** An error as sent to a gRPC caller. */
export type StatusObject = Partial<grpc.StatusObject> & { code: grpc.status; details: string };

/** The gRPC status of each error code. */
function statusOf(code: ErrorCode): grpc.status {
  switch (code) {
    case ErrorCode.INVALID_ARGUMENT:
    case ErrorCode.STORE_REFUSED_DATA:
      return grpc.status.INVALID_ARGUMENT;
    case ErrorCode.TX_NOT_FOUND:
      return grpc.status.NOT_FOUND;
    case ErrorCode.INVALID_TRANSITION:
      return grpc.status.FAILED_PRECONDITION;
    case ErrorCode.PARTICIPANT_CONFLICT:
    case ErrorCode.TX_EXISTS:
      return grpc.status.ALREADY_EXISTS;
    case ErrorCode.STORE_UNAVAILABLE:
    case ErrorCode.SHUTTING_DOWN:
    case ErrorCode.PARTICIPANT_UNAVAILABLE:
      return grpc.status.UNAVAILABLE;
    case ErrorCode.DEADLINE_EXCEEDED:
      return grpc.status.DEADLINE_EXCEEDED;
    case ErrorCode.STORE_BUSY:
    case ErrorCode.LIMIT_EXCEEDED:
      return grpc.status.RESOURCE_EXHAUSTED;
    case ErrorCode.UNAUTHENTICATED:
      return grpc.status.UNAUTHENTICATED;
    case ErrorCode.PERMISSION_DENIED:
    case ErrorCode.ENDPOINT_NOT_ALLOWED:
      return grpc.status.PERMISSION_DENIED;
  }
}

/**
 * The only error → status function. Known errors keep their message and put
 * their code in the `twopc-error-code` trailer; anything else becomes
 * INTERNAL with a generic message (the caller logs the real one).
 */
export function toStatus(err: unknown): StatusObject {
  const metadata = new grpc.Metadata();
  if (err instanceof TwopcError) {
    metadata.set('twopc-error-code', err.code);
    if (
      (err instanceof StoreBusyError || err instanceof LimitExceededError) &&
      err.retryAfterMs !== null
    ) {
      // gRPC's own retry pushback: how long a client should wait.
      metadata.set(RETRY_PUSHBACK, String(err.retryAfterMs));
    }
    return { code: statusOf(err.code), details: err.message, metadata };
  }
  metadata.set('twopc-error-code', 'TWOPC_INTERNAL');
  return {
    code: grpc.status.INTERNAL,
    details: 'internal error; see the coordinator log',
    metadata,
  };
}
