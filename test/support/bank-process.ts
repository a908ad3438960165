// One bank of the chaos test, in a process of its own: a PostgreSQL database
// made a participant by PgParticipant (or, for a `mysql://` URL, a MariaDB
// or MySQL database made one by MySqlParticipant), behind the SDK helper
// with a durable branch store. argv[2]: JSON {name, databaseUrl, coordinator, port}.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import type { ResultSetHeader } from 'mysql2/promise';
import pg from 'pg';
import { MySqlParticipant } from 'twopc/mysql';
import { PgParticipant } from 'twopc/pg';
import { TwopcParticipant } from 'twopc/internal/twopc-participant';

const spec = JSON.parse(process.argv[2] ?? '{}') as {
  batched?: boolean;
  name: string;
  databaseUrl: string;
  coordinator: string;
  port: number;
};
/** The bank's one business operation, on the branch's own connection. */
type Apply = (txnId: string, account: string, delta: number) => Promise<void>;

function postgresBank(): { bank: PgParticipant; apply: Apply } {
  // lock_timeout: two transfers crossing two databases in opposite orders wait
  // on each other where no single database sees a deadlock; one gives up.
  const pool = new pg.Pool({
    connectionString: spec.databaseUrl,
    max: 20,
    options: '-c lock_timeout=1000',
  });
  pool.on('error', () => undefined);
  const bank = new PgParticipant({ pool, name: spec.name });
  const apply: Apply = (txnId, account, delta) =>
    bank.work(txnId, async (c) => {
      const r = await c.query(
        'UPDATE accounts SET balance = balance + $2 WHERE id = $1 AND balance + $2 >= 0',
        [account, delta],
      );
      if (r.rowCount === 0) {
        throw new Error(`insufficient funds in ${account}`);
      }
      await c.query('INSERT INTO transfers (txn_id, account, delta) VALUES ($1, $2, $3)', [
        txnId,
        account,
        delta,
      ]);
    });
  return { bank, apply };
}

function mysqlBank(): { bank: MySqlParticipant; apply: Apply } {
  // The server's innodb_lock_wait_timeout plays lock_timeout's part.
  const pool = mysql.createPool({ uri: spec.databaseUrl, connectionLimit: 20 });
  pool.pool.on('connection', (c) => c.on('error', () => undefined));
  const bank = new MySqlParticipant({ pool, name: spec.name });
  const apply: Apply = (txnId, account, delta) =>
    bank.work(txnId, async (c) => {
      const [r] = await c.query<ResultSetHeader>(
        'UPDATE accounts SET balance = balance + ? WHERE id = ? AND balance + ? >= 0',
        [delta, account, delta],
      );
      if (r.affectedRows === 0) {
        throw new Error(`insufficient funds in ${account}`);
      }
      await c.query('INSERT INTO transfers (txn_id, account, delta) VALUES (?, ?, ?)', [
        txnId,
        account,
        delta,
      ]);
    });
  return { bank, apply };
}

const { bank, apply } = spec.databaseUrl.startsWith('mysql:') ? mysqlBank() : postgresBank();
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
if (bank instanceof MySqlParticipant) {
  const found = await bank.setUp(participant);
  if (found.problems.length > 0) {
    process.stderr.write(`${found.problems.join('\n')}\n`);
  }
}
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
    await apply(txnId, call.request.account, Number(call.request.delta));
    return {};
  }),
});
// In-doubt branches left by an earlier incarnation, and abandoned tentative
// work, are checked by the helper itself every 500 ms.
process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
