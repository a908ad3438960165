// A transfer between two databases in one transaction: 10 taken from an
// account in PostgreSQL (PgParticipant) and given to one in MariaDB or
// MySQL (MySqlParticipant), each behind its own participant service.
//
//   TWOPC_ADDRESS=127.0.0.1:50051 \
//   DATABASE_URL=postgres://user:pw@127.0.0.1:5432/bank_a \
//   MYSQL_URL=mysql://user:pw@127.0.0.1:3306/bank_b \
//   npx tsx examples/two-database-transfer.ts
import * as grpc from '@grpc/grpc-js';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { TwopcClient, TwopcParticipant, txnMetadata } from 'twopc';
import { MySqlParticipant } from 'twopc/mysql';
import { PgParticipant } from 'twopc/pg';

const coordinator = process.env.TWOPC_ADDRESS ?? '127.0.0.1:50051';

/** Serves a participant's handlers on a port of its own; returns it and its server. */
async function serve(
  name: string,
  rm: PgParticipant | MySqlParticipant,
): Promise<{ participant: TwopcParticipant; server: grpc.Server }> {
  const server = new grpc.Server();
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? rej(e) : res(p),
    ),
  );
  const participant = new TwopcParticipant({
    name,
    endpoint: `127.0.0.1:${port}`,
    coordinator,
    handlers: rm,
    branches: rm.branchStore(),
  });
  participant.addTo(server);
  // Branches a crash left prepared are finished as the coordinator says.
  await participant.recoverInDoubt();
  return { participant, server };
}

const pgPool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
const myPool = mysql.createPool({ uri: process.env.MYSQL_URL ?? '' });
const a = new PgParticipant({ pool: pgPool, name: 'bank-a' });
const b = new MySqlParticipant({ pool: myPool, name: 'bank-b' });
await a.setUp();
await pgPool.query(
  "CREATE TABLE IF NOT EXISTS accounts (id text PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0)); INSERT INTO accounts VALUES ('alice', 100) ON CONFLICT DO NOTHING",
);
await myPool.query(
  'CREATE TABLE IF NOT EXISTS accounts (id VARCHAR(32) PRIMARY KEY, balance BIGINT NOT NULL CHECK (balance >= 0)) ENGINE=InnoDB',
);
await myPool.query("INSERT IGNORE INTO accounts VALUES ('bob', 100)");

const serviceA = await serve('bank-a', a);
const serviceB = await serve('bank-b', b);
// Version, XA RECOVER privilege, binary log: refused with the fix named.
const found = await b.setUp(serviceB.participant);
if (found.problems.length > 0) {
  throw new Error(found.problems.join('\n'));
}

const client = new TwopcClient(coordinator);
const { txnId } = await client.begin();
// What each service's business handler does for a call carrying the transaction.
await serviceA.participant.join(txnMetadata(txnId));
await a.work(txnId, (c) =>
  c.query("UPDATE accounts SET balance = balance - 10 WHERE id = 'alice'"),
);
await serviceB.participant.join(txnMetadata(txnId));
await b.work(txnId, (c) => c.query("UPDATE accounts SET balance = balance + 10 WHERE id = 'bob'"));
const answer = await client.commit(txnId, { waitForAcks: true });

const alice = await pgPool.query<{ balance: string }>(
  "SELECT balance FROM accounts WHERE id = 'alice'",
);
const [bob] = await myPool.query<mysql.RowDataPacket[]>(
  "SELECT balance FROM accounts WHERE id = 'bob'",
);
console.log(
  `${answer.outcome}: alice (PostgreSQL) ${alice.rows[0]?.balance}, bob (MariaDB/MySQL) ${bob[0]?.balance}`,
);

client.close();
for (const s of [serviceA, serviceB]) {
  s.participant.close();
  s.server.forceShutdown();
}
a.close();
b.close();
await pgPool.end();
await myPool.end();
