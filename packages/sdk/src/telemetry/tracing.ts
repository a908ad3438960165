import { ROOT_CONTEXT, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { Context, Link, Span, TextMapGetter } from '@opentelemetry/api';
import type * as grpc from '@grpc/grpc-js';

/**
 * The tracer of the library. Only @opentelemetry/api is used here: without
 * an SDK registered (the entry point registers one when OTEL_* asks for it)
 * every span is a no-op.
 */
export function tracer(): ReturnType<typeof trace.getTracer> {
  return trace.getTracer('twopc');
}

/** Span and attribute names, in one place. */
export const SPAN = {
  TRANSACTION: 'twopc.transaction',
  RECOVERY: 'twopc.recovery',
  PREPARE: 'twopc.prepare',
  COMMIT: 'twopc.commit',
  ABORT: 'twopc.abort',
  DECISION: 'twopc.decision_write',
} as const;

export const ATTR = {
  TXN_ID: 'twopc.txn_id',
  STATE: 'twopc.state',
  OUTCOME: 'twopc.outcome',
  REASON: 'twopc.reason',
  PARTICIPANT: 'twopc.participant.name',
  ENDPOINT: 'twopc.participant.endpoint',
  VOTE: 'twopc.vote',
  ATTEMPT: 'twopc.attempt',
  FORCED: 'twopc.forced',
  ONE_PHASE: 'twopc.one_phase',
} as const;

const metadataGetter: TextMapGetter<grpc.Metadata> = {
  keys: (md) => Object.keys(md.getMap()),
  get: (md, key) => {
    const values = md.get(key).map(String);
    return values.length === 0 ? undefined : values;
  },
};

/** The trace context a gRPC call carries (W3C traceparent), or the root context. */
export function contextFromMetadata(md: grpc.Metadata): Context {
  return propagation.extract(ROOT_CONTEXT, md, metadataGetter);
}

/** W3C headers (traceparent, tracestate) for a context. */
export function headersFor(ctx: Context): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The form a transaction's trace context is stored in the log: JSON W3C headers. */
export function serializeContext(ctx: Context): string | null {
  const headers = headersFor(ctx);
  return headers.traceparent === undefined ? null : JSON.stringify(headers);
}

/** A stored trace context, as a (remote) parent context; root when absent. */
export function storedContext(stored: string | null): Context {
  if (stored === null) {
    return ROOT_CONTEXT;
  }
  try {
    return propagation.extract(ROOT_CONTEXT, JSON.parse(stored) as Record<string, string>);
  } catch {
    return ROOT_CONTEXT;
  }
}

/** The trace id of a stored context, or ''. */
export function traceIdOf(stored: string | null): string {
  if (stored === null) {
    return '';
  }
  const traceparent = (JSON.parse(stored) as { traceparent?: string }).traceparent ?? '';
  return traceparent.split('-')[1] ?? '';
}

/** A link to the stored context of a transaction's original trace. */
export function linkTo(stored: string | null): Link[] {
  const sc = trace.getSpanContext(storedContext(stored));
  return sc === undefined
    ? []
    : [{ context: sc, attributes: { 'twopc.link': 'original transaction' } }];
}

/** Ends a span with an error status. */
export function endWithError(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: err instanceof Error ? err.message : String(err),
  });
  span.end();
}

/** Runs `fn` with `ctx` active (so logs carry its trace id). */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}
