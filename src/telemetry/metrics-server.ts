import { ListenError } from '../listen-error.ts';
import { createServer } from 'node:http';
import type { Meter } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/** The Prometheus endpoint of a coordinator. */
export interface MetricsServer {
  readonly meter: Meter;
  /** host:port of GET /metrics. */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * Serves the meter's instruments in Prometheus text format at
 * `http://<listen>/metrics`, followed by the process and Node.js runtime
 * metrics of prom-client (CPU, memory, open file descriptors, event-loop
 * lag, heap, garbage collection). One meter provider per coordinator, not
 * the global one, so several coordinators in a process keep separate
 * figures.
 */
export async function startMetricsServer(listen: string): Promise<MetricsServer> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const serializer = new PrometheusSerializer();
  const provider = new MeterProvider({
    readers: [exporter],
    resource: resourceFromAttributes({ 'service.name': 'twopc' }),
  });
  const runtime = new Registry();
  collectDefaultMetrics({ register: runtime });
  const scrape = async (): Promise<string> => {
    const { resourceMetrics } = await exporter.collect();
    return `${serializer.serialize(resourceMetrics)}\n${await runtime.metrics()}`;
  };
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      scrape().then(
        (text) => {
          res.setHeader('content-type', runtime.contentType);
          res.end(text);
        },
        (err: unknown) => {
          res.statusCode = 500;
          res.end(`# failed to collect metrics: ${String(err)}\n`);
        },
      );
      return;
    }
    res.statusCode = 404;
    res.end('twopc serves GET /metrics\n');
  });
  const host = listen.slice(0, listen.lastIndexOf(':'));
  const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new ListenError(listen, '--metrics-listen', err)));
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound !== null ? bound.port : port;
  return {
    meter: provider.getMeter('twopc'),
    address: `${host}:${boundPort}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      runtime.clear();
      await provider.shutdown();
    },
  };
}
