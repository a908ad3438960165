// A FakeParticipant in a process of its own, so tests can SIGSTOP, SIGCONT
// and SIGKILL it. argv[2]: JSON {name, port?, batched?, behaviour}: port 0
// or none picks one; batched also serves twopc.v1.BatchedParticipant. Prints one JSON
// line when listening ({"listening": port}) and one per call received.
import { FakeParticipant } from './fake-participant.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as {
  name: string;
  port?: number;
  batched?: boolean;
  behaviour?: ConstructorParameters<typeof FakeParticipant>[1];
};
const fake = new FakeParticipant(spec.name, spec.behaviour ?? {});
fake.on('call', (c: { method: string; txnId: string; onePhase: boolean }) => {
  process.stdout.write(
    `${JSON.stringify({ method: c.method, txnId: c.txnId, onePhase: c.onePhase })}\n`,
  );
});
// SIGUSR1 heals: every injected failure stops.
process.on('SIGUSR1', () => {
  fake.behaviour = {};
});
await fake.start(undefined, spec.batched ?? false, spec.port ?? 0);
process.stdout.write(`${JSON.stringify({ listening: Number(fake.endpoint.split(':')[1]) })}\n`);
