import type * as grpc from '@grpc/grpc-js';
import type { Admitted, RequestFacts, Security } from '../auth/security.ts';
import { TwopcError } from 'twopc/internal/contract/errors';
import type { Logger } from '../telemetry/logger.ts';
import type { Clock } from 'twopc/internal/time/clock';
import { deadlineSignal, msUntil } from 'twopc/internal/time/deadline-signal';
import { toStatus } from './status-mapping.ts';

/** A handler, given the request once the security room let the call in. */
export type Handler<Req, Res> = (
  req: Req,
  call: grpc.ServerUnaryCall<Req, Res>,
  admitted: Admitted,
) => Promise<Res>;

/** Builds unary handlers of one service. */
export type UnaryFactory = <Req, Res>(
  method: string,
  facts: (req: Req) => RequestFacts,
  fn: Handler<Req, Res>,
) => grpc.handleUnaryCall<Req, Res>;

/**
 * The one way a handler is served: the security room admits the call
 * (authentication, roles, tenant, endpoints, caps) before the handler runs;
 * audited methods are recorded with their result; errors go through the
 * status mapping (unexpected ones are logged, never sent).
 */
export function secureUnary(service: string, security: Security, log: Logger): UnaryFactory {
  return (method, facts, fn) => {
    const name = `${service}.${method}`;
    return (call, callback) => {
      let admitted: Admitted | null = null;
      security
        .admit(name, call, () => facts(call.request))
        .then((a) => {
          admitted = a;
          return fn(call.request, call, a);
        })
        .then(
          (res) => {
            if (admitted !== null) {
              security.finished(name, call, admitted, null);
            }
            callback(null, res);
          },
          (err: unknown) => {
            if (!(err instanceof TwopcError)) {
              log.error({ err, method: name }, 'unexpected error');
            }
            if (admitted !== null) {
              security.finished(name, call, admitted, err);
            }
            callback(toStatus(err));
          },
        );
    };
  };
}

/**
 * How long before the caller's deadline we answer, so that it gets our
 * answer (the current state), not gRPC's DEADLINE_EXCEEDED: a tenth of the
 * time left, from 100 ms to 2 s. Clients' libraries round the deadline they
 * send (grpcio to whole units), so a fixed 100 ms was too tight for long ones.
 */
export function answerMarginMs(remainingMs: number): number {
  return Math.min(2_000, Math.max(100, remainingMs / 10));
}

/**
 * Runs `fn` with a signal that fires just before the call's deadline (or
 * after `fallbackMs` without one) or when the caller cancels.
 */
export async function withDeadline<T>(
  clock: Clock,
  call: grpc.ServerUnaryCall<unknown, unknown>,
  fallbackMs: number,
  fn: (s: AbortSignal) => Promise<T>,
): Promise<T> {
  const left = msUntil(call.getDeadline());
  const remaining = Number.isFinite(left) ? left - answerMarginMs(left) : fallbackMs;
  const cancelled = new AbortController();
  const onCancelled = (): void => cancelled.abort();
  call.once('cancelled', onCancelled);
  const { signal, dispose } = deadlineSignal(clock, remaining, cancelled.signal);
  try {
    return await fn(signal);
  } finally {
    dispose();
    // grpc-js also reports a call that ended normally as cancelled.
    call.off('cancelled', onCancelled);
  }
}
