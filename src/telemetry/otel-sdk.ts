/** A started OpenTelemetry SDK. */
export interface TracingSdk {
  /** Flushes pending spans and stops exporting. */
  shutdown(): Promise<void>;
}

/** Whether the standard OTEL_* variables ask for trace export. */
export function tracingConfigured(env: NodeJS.ProcessEnv): boolean {
  const exporter = env.OTEL_TRACES_EXPORTER;
  if (exporter !== undefined && exporter !== '') {
    return exporter !== 'none';
  }
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts the OpenTelemetry Node SDK for traces when the standard OTEL_*
 * variables configure it (OTLP endpoint, exporter, service name, sampler…);
 * off otherwise. Metrics stay on twopc's own Prometheus endpoint and logs on
 * stderr, so the SDK's metric and log exporters default to none. Only the
 * entry points call this: library code uses @opentelemetry/api alone.
 */
export async function startTracingSdk(
  env: NodeJS.ProcessEnv,
  serviceName: string,
): Promise<TracingSdk | null> {
  if (!tracingConfigured(env)) {
    return null;
  }
  process.env.OTEL_METRICS_EXPORTER ??= 'none';
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? serviceName,
    instrumentations: [],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
