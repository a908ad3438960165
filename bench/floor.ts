// The floor: the least a coordinator on this stack can do per transaction.
// Same processes, same messages (client → coordinator calls, Prepare and
// Commit to each participant over grpc-js) and one forced INSERT per
// transaction; no state machine, no validation, no bookkeeping.
// argv[2]: JSON {databaseUrl, schema}. Prints {"listening": port}.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { loadTwopcProto } from 'twopc/internal/wire/proto';
import type { ParticipantClient } from 'twopc/internal/wire/generated/twopc/v1/Participant';

const spec = JSON.parse(process.argv[2] ?? '{}') as { databaseUrl: string; schema: string };
const pool = new pg.Pool({
  connectionString: spec.databaseUrl,
  max: 10,
  options: `-c search_path=${spec.schema} -c synchronous_commit=on`,
});
await pool.query(`CREATE SCHEMA IF NOT EXISTS ${spec.schema}`);
await pool.query(
  'CREATE TABLE IF NOT EXISTS floor_decisions (txn_id uuid PRIMARY KEY, participants text[] NOT NULL)',
);
const proto = loadTwopcProto().twopc.v1;
const stubs = new Map<string, ParticipantClient>();
const stub = (endpoint: string): ParticipantClient => {
  let s = stubs.get(endpoint);
  if (s === undefined) {
    s = new proto.Participant(endpoint, grpc.credentials.createInsecure());
    stubs.set(endpoint, s);
  }
  return s;
};
const txns = new Map<string, { name: string; endpoint: string }[]>();
const call = (fn: (cb: (err: grpc.ServiceError | null) => void) => void): Promise<void> =>
  new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));

const server = new grpc.Server();
server.addService(proto.Coordinator.service, {
  Begin: (
    c: grpc.ServerUnaryCall<{ participants: { name: string; endpoint: string }[] }, object>,
    cb: grpc.sendUnaryData<object>,
  ) => {
    const txnId = randomUUID();
    txns.set(
      txnId,
      c.request.participants.map((p) => ({ name: p.name, endpoint: p.endpoint })),
    );
    cb(null, { txnId });
  },
  Enlist: (
    c: grpc.ServerUnaryCall<
      { txnId: string; participant: { name: string; endpoint: string } },
      object
    >,
    cb: grpc.sendUnaryData<object>,
  ) => {
    txns.get(c.request.txnId)?.push(c.request.participant);
    cb(null, { newlyEnlisted: true });
  },
  Commit: (c: grpc.ServerUnaryCall<{ txnId: string }, object>, cb: grpc.sendUnaryData<object>) => {
    const txnId = c.request.txnId;
    const ps = txns.get(txnId) ?? [];
    txns.delete(txnId);
    const req = (p: { name: string }): object => ({ txnId, participantName: p.name });
    (async () => {
      await Promise.all(ps.map((p) => call((done) => stub(p.endpoint).prepare(req(p), done))));
      await pool.query('INSERT INTO floor_decisions (txn_id, participants) VALUES ($1, $2)', [
        txnId,
        ps.map((p) => p.name),
      ]);
      await Promise.all(ps.map((p) => call((done) => stub(p.endpoint).commit(req(p), done))));
    })().then(
      () => cb(null, { outcome: 'OUTCOME_COMMITTED', state: 'TRANSACTION_STATE_COMMITTED' }),
      (err: Error) => cb({ code: grpc.status.INTERNAL, details: err.message }),
    );
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    throw err;
  }
  process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
});
