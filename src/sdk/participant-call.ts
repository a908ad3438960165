import * as grpc from '@grpc/grpc-js';
import { coerceError } from '../core/errors.ts';
import { parseTxId } from '../core/limits.ts';
import { contextFromMetadata, endWithError, tracer } from '../telemetry/tracing.ts';

/**
 * Serves one twopc.v1.Participant method: validates the transaction id
 * (INVALID_ARGUMENT), runs `fn` in a span that joins the coordinator's trace
 * (W3C context in the call's metadata), records the answer's string fields
 * on the span, and answers a failure with UNAVAILABLE (the coordinator
 * retries). `fn` gets the validated id.
 * @internal
 */
export function serveParticipantCall<Req extends { txnId: string }, Res>(
  participant: string,
  fn: (txnId: string, req: Req) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let txnId: string;
    try {
      txnId = parseTxId(call.request.txnId);
    } catch (err) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: coerceError(err).message });
      return;
    }
    const span = tracer().startSpan(
      `twopc.participant.${call.getPath().split('/').pop()?.toLowerCase() ?? 'call'}`,
      { attributes: { 'twopc.txn_id': txnId, 'twopc.participant.name': participant } },
      contextFromMetadata(call.metadata),
    );
    fn(txnId, call.request).then(
      (res) => {
        span.setAttributes(
          Object.fromEntries(
            Object.entries(res as object)
              .filter(([, v]) => typeof v === 'string')
              .map(([k, v]) => [`twopc.${k}`, v as string]),
          ),
        );
        span.end();
        callback(null, res);
      },
      (err: unknown) => {
        endWithError(span, err);
        callback({ code: grpc.status.UNAVAILABLE, details: coerceError(err).message });
      },
    );
  };
}
