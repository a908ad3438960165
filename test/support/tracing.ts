import { propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

let exporter: InMemorySpanExporter | null = null;

/** Registers (once per process) a tracer provider that keeps spans in memory. */
export function memorySpans(): InMemorySpanExporter {
  if (exporter === null) {
    exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  }
  return exporter;
}

/** The finished spans of one trace. */
export function spansOf(traceId: string): ReadableSpan[] {
  return (exporter?.getFinishedSpans() ?? []).filter((s) => s.spanContext().traceId === traceId);
}

/** Child spans of a span, by name. */
export function childrenOf(spans: ReadableSpan[], parent: ReadableSpan): ReadableSpan[] {
  return spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
}
