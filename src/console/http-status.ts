import * as grpc from '@grpc/grpc-js';
import { toStatus } from '../grpc/status-mapping.ts';

/** An error as the console's API sends it. */
export interface HttpError {
  readonly status: number;
  readonly body: { readonly code: string; readonly message: string };
}

/** The HTTP status of each gRPC status the API can answer with. */
function httpStatusOf(code: grpc.status): number {
  switch (code) {
    case grpc.status.INVALID_ARGUMENT:
      return 400;
    case grpc.status.UNAUTHENTICATED:
      return 401;
    case grpc.status.PERMISSION_DENIED:
      return 403;
    case grpc.status.NOT_FOUND:
      return 404;
    case grpc.status.FAILED_PRECONDITION:
    case grpc.status.ALREADY_EXISTS:
      return 409;
    case grpc.status.RESOURCE_EXHAUSTED:
      return 429;
    case grpc.status.UNAVAILABLE:
      return 503;
    case grpc.status.DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

/**
 * An error as the console answers it: the status the Operator API would
 * give (through the one status mapping) carried over to HTTP, with the
 * same message and twopc error code; unexpected errors say nothing more.
 */
export function toHttpError(err: unknown): HttpError {
  const status = toStatus(err);
  const code = status.metadata?.get('twopc-error-code')[0];
  return {
    status: httpStatusOf(status.code),
    body: { code: typeof code === 'string' ? code : 'TWOPC_INTERNAL', message: status.details },
  };
}
