// A participant built with the SDK, in a process of its own, recording its
// spans in memory. argv[2]: JSON {name, coordinator}. Prints {"listening":
// port}; on a "dump" line on stdin, prints its finished spans as JSON lines.
import * as grpc from '@grpc/grpc-js';
import { createInterface } from 'node:readline';
import { TwopcParticipant } from 'twopc/internal/twopc-participant';
import { memorySpans } from './tracing.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as { name: string; coordinator: string };
const exporter = memorySpans();
const server = new grpc.Server();
const port = await new Promise<number>((res, rej) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
    e ? rej(e) : res(p),
  ),
);
const participant = new TwopcParticipant({
  name: spec.name,
  endpoint: `127.0.0.1:${port}`,
  coordinator: spec.coordinator,
  handlers: {
    prepare: async () => ({ vote: 'PREPARED' }),
    commit: async () => undefined,
    abort: async () => undefined,
  },
});
participant.addTo(server);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'dump') {
    for (const s of exporter.getFinishedSpans()) {
      process.stdout.write(
        `${JSON.stringify({ name: s.name, traceId: s.spanContext().traceId, parentSpanId: s.parentSpanContext?.spanId ?? null })}\n`,
      );
    }
    process.stdout.write('{"dumped":true}\n');
  }
});
process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
