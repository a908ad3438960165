// A user's script in a process of its own: one SDK call against a
// coordinator address, then nothing else keeps the process alive. It prints
// what the call ended with. argv[2]: the address; argv[3]: attempts.
import { TwopcClient } from 'twopc/internal/twopc-client';

const client = new TwopcClient(process.argv[2] ?? '', { attempts: Number(process.argv[3] ?? '3') });
client.begin().then(
  (r) => {
    process.stdout.write(`${JSON.stringify({ resolved: r.txnId })}\n`);
    client.close();
  },
  (err: { code?: number; message?: string }) => {
    process.stdout.write(`${JSON.stringify({ rejected: err.code, message: err.message })}\n`);
    client.close();
    process.exitCode = 3;
  },
);
