import * as grpc from '@grpc/grpc-js';
import { ROOT_CONTEXT, propagation } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { coerceError } from './contract/errors.ts';
import { parseTxId } from './contract/limits.ts';
import { contextFromMetadata, endWithError, tracer } from './telemetry/tracing.ts';

/** A phase call's failure, as the status the coordinator gets. */
export interface CallFailure {
  readonly code: grpc.status;
  readonly details: string;
}

/**
 * Runs one phase call (`method`: prepare, commit, abort) the way every
 * transport serves it: validates the transaction id (INVALID_ARGUMENT),
 * runs `fn` in a span that joins the coordinator's trace (`parent`),
 * records the answer's string fields on the span, and turns a failure into
 * UNAVAILABLE (the coordinator retries). `fn` gets the validated id.
 * @internal
 */
export async function runPhaseCall<Req extends { txnId: string }, Res>(
  participant: string,
  method: string,
  request: Req,
  parent: Context,
  fn: (txnId: string, req: Req) => Promise<Res>,
): Promise<Res> {
  let txnId: string;
  try {
    txnId = parseTxId(request.txnId);
  } catch (err) {
    throw { code: grpc.status.INVALID_ARGUMENT, details: coerceError(err).message } as CallFailure;
  }
  const span = tracer().startSpan(
    `twopc.participant.${method}`,
    { attributes: { 'twopc.txn_id': txnId, 'twopc.participant.name': participant } },
    parent,
  );
  try {
    const res = await fn(txnId, request);
    span.setAttributes(
      Object.fromEntries(
        Object.entries(res as object)
          .filter(([, v]) => typeof v === 'string')
          .map(([k, v]) => [`twopc.${k}`, v as string]),
      ),
    );
    span.end();
    return res;
  } catch (err) {
    endWithError(span, err);
    throw { code: grpc.status.UNAVAILABLE, details: coerceError(err).message } as CallFailure;
  }
}

/** The trace context a batched call carries (W3C headers as a map), or the root context. */
export function contextFromHeaders(headers: Readonly<Record<string, string>>): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

/**
 * Serves one twopc.v1.Participant method as a unary call (see runPhaseCall);
 * the trace context comes from the call's metadata.
 * @internal
 */
export function serveParticipantCall<Req extends { txnId: string }, Res>(
  participant: string,
  fn: (txnId: string, req: Req) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const method = call.getPath().split('/').pop()?.toLowerCase() ?? 'call';
    runPhaseCall(participant, method, call.request, contextFromMetadata(call.metadata), fn).then(
      (res) => callback(null, res),
      (failure: CallFailure) => callback(failure),
    );
  };
}
