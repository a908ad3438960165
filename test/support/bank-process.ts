// One bank of the chaos test, in a process of its own: a PostgreSQL database
// made a participant by PgParticipant, behind the SDK helper with a durable
// branch store. argv[2]: JSON {name, databaseUrl, coordinator, port}.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PgParticipant } from 'twopc/pg';
import { TwopcParticipant } from 'twopc/internal/twopc-participant';

const spec = JSON.parse(process.argv[2] ?? '{}') as {
  batched?: boolean;
  name: string;
  databaseUrl: string;
  coordinator: string;
  port: number;
};
// lock_timeout: two transfers crossing two databases in opposite orders wait
// on each other where no single database sees a deadlock; one gives up.
const pool = new pg.Pool({
  connectionString: spec.databaseUrl,
  max: 20,
  options: '-c lock_timeout=1000',
});
pool.on('error', () => undefined);
const bank = new PgParticipant({ pool, name: spec.name });
const server = new grpc.Server();
const port = await new Promise<number>((res, rej) =>
  server.bindAsync(`127.0.0.1:${spec.port}`, grpc.ServerCredentials.createInsecure(), (e, p) =>
    e ? rej(e) : res(p),
  ),
);
const participant = new TwopcParticipant({
  name: spec.name,
  endpoint: `127.0.0.1:${port}`,
  coordinator: spec.coordinator,
  handlers: bank,
  branches: bank.branchStore(),
  checkAfterMs: 1_000,
  checkEveryMs: 500,
  batched: spec.batched ?? true,
});
participant.addTo(server);
const def = grpc.loadPackageDefinition(
  protoLoader.loadSync(fileURLToPath(new URL('./bank.proto', import.meta.url)), {
    longs: String,
    defaults: true,
  }),
);
const Bank = ((def.bank as grpc.GrpcObject).v1 as grpc.GrpcObject)
  .Bank as grpc.ServiceClientConstructor;
server.addService(Bank.service, {
  Apply: participant.unary<{ account: string; delta: string }, object>(async (call, txnId) => {
    if (txnId === null) {
      throw new Error('Apply needs a transaction');
    }
    const delta = Number(call.request.delta);
    await bank.work(txnId, async (c) => {
      const r = await c.query(
        'UPDATE accounts SET balance = balance + $2 WHERE id = $1 AND balance + $2 >= 0',
        [call.request.account, delta],
      );
      if (r.rowCount === 0) {
        throw new Error(`insufficient funds in ${call.request.account}`);
      }
      await c.query('INSERT INTO transfers (txn_id, account, delta) VALUES ($1, $2, $3)', [
        txnId,
        call.request.account,
        delta,
      ]);
    });
    return {};
  }),
});
// In-doubt branches left by an earlier incarnation, and abandoned tentative
// work, are checked by the helper itself every 500 ms.
process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
