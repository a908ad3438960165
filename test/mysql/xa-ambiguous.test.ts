import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import mysql from 'mysql2/promise';
import { MySqlParticipant } from 'twopc/mysql';
import { TwopcParticipant } from 'twopc/internal/twopc-participant';
import { loadTwopcProto } from 'twopc/internal/wire/proto';
import { eventually } from '../support/expect-status.ts';
import { OwnMariaDb } from '../support/own-mariadb.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

describe('MariaDB participant: the connection lost during XA PREPARE', function () {
  this.timeout(60_000);
  let maria: OwnMariaDb;
  let proxy: TcpProxy;
  let pool: mysql.Pool;

  before(async function () {
    maria = await OwnMariaDb.create({ binlog: true });
    await maria.sql(
      'CREATE TABLE acct (id INT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB',
    );
    await maria.sql('INSERT INTO acct VALUES (1, 100)');
    proxy = await new TcpProxy('127.0.0.1', maria.port).start();
    pool = mysql.createPool({ ...maria.config(), port: proxy.port, connectionLimit: 4 });
    pool.pool.on('connection', (c) => c.on('error', () => undefined));
  });
  after(async function () {
    await pool?.end().catch(() => undefined);
    await proxy?.stop();
    await maria?.destroy();
  });

  it('votes ABORT without assuming either outcome, and the Abort rolls back the branch the server prepared after all', async function () {
    const rm = new MySqlParticipant({ pool, name: 'amb' });
    await rm.setUp();
    const t = randomUUID();
    await rm.work(t, (c) => c.query('UPDATE acct SET balance = balance + 7 WHERE id = 1'));
    // The server holds the XA PREPARE (as a slow disk would) while the link dies.
    const lock = await mysql.createConnection(maria.config());
    await lock.query('BACKUP STAGE START');
    await lock.query('BACKUP STAGE BLOCK_COMMIT');
    const voting = rm.prepare(t);
    await eventually(
      async () => {
        const [rows] = await lock.query<mysql.RowDataPacket[]>(
          "SELECT 1 FROM information_schema.processlist WHERE info LIKE 'XA PREPARE %'",
        );
        return rows.length === 1;
      },
      15_000,
      'the XA PREPARE waiting at the server',
    );
    proxy.cut();
    const vote = await voting;
    assert.equal(vote.vote, 'ABORT');
    assert.match(
      vote.vote === 'ABORT' ? vote.reason : '',
      /^CONNECTION_LOST: XA PREPARE \(whether the branch is prepared is unknown/,
    );
    // The server goes on with the statement of a client that left: the branch is prepared.
    await lock.query('BACKUP STAGE END');
    await lock.end();
    await eventually(
      async () => (await maria.prepared()).length === 1,
      15_000,
      'the branch prepared',
    );
    proxy.heal();
    await rm.abort(t); // what the helper does after an ABORT vote
    assert.deepEqual(await maria.prepared(), []);
    const rows = await maria.sql<{ balance: string }[]>('SELECT balance FROM acct WHERE id = 1');
    assert.equal(Number(rows[0]?.balance), 100);
    rm.close();
  });

  it('rolls back again, at the sweep, a branch the server prepared after the ABORT vote and its Abort were done', async function () {
    const rm = new MySqlParticipant({ pool, name: 'amb2' });
    await rm.setUp();
    const server = new grpc.Server();
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? rej(e) : res(p),
      ),
    );
    // No coordinator: the sweep needs none for a branch it voted ABORT for.
    const helper = new TwopcParticipant({
      name: 'amb2',
      endpoint: `127.0.0.1:${port}`,
      coordinator: '127.0.0.1:1',
      handlers: rm,
      branches: rm.branchStore(),
      checkAfterMs: 0,
      checkEveryMs: 0,
      batched: false,
    });
    helper.addTo(server);
    const stub = new (loadTwopcProto().twopc.v1.Participant)(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
    );
    const lock = await mysql.createConnection(maria.config());
    try {
      const t = randomUUID();
      await rm.work(t, (c) => c.query('UPDATE acct SET balance = balance + 9 WHERE id = 1'));
      await lock.query('BACKUP STAGE START');
      await lock.query('BACKUP STAGE BLOCK_COMMIT');
      const voting = new Promise<{ vote: string; reason: string }>((resolve, reject) =>
        stub.prepare({ txnId: t, participantName: 'amb2' }, (e, r) =>
          e !== null || r === undefined ? reject(e) : resolve(r),
        ),
      );
      await eventually(
        async () => {
          const [rows] = await lock.query<mysql.RowDataPacket[]>(
            "SELECT 1 FROM information_schema.processlist WHERE info LIKE 'XA PREPARE %'",
          );
          return rows.length === 1;
        },
        15_000,
        'the XA PREPARE waiting at the server',
      );
      // The link dies and comes back at once: the vote is ABORT, and the
      // helper's Abort finds no prepared branch yet (the dead connection's
      // PREPARE still waits at the server), so it is done; the ABORTED
      // record waits at the server too (a commit), then both go through.
      proxy.cut();
      proxy.heal();
      await eventually(
        async () => {
          const [rows] = await lock.query<mysql.RowDataPacket[]>(
            "SELECT info FROM information_schema.processlist WHERE info LIKE 'INSERT INTO twopc_branches%'",
          );
          return rows.length === 1;
        },
        15_000,
        'the ABORTED record waiting at the server',
      );
      await lock.query('BACKUP STAGE END');
      const vote = await voting;
      assert.equal(vote.vote, 'VOTE_ABORT');
      assert.match(vote.reason, /^CONNECTION_LOST: /);
      await eventually(
        async () => (await maria.prepared()).length === 1,
        15_000,
        'the branch prepared',
      );
      // The sweep: prepared in the database, ABORTED in the record: rolled back.
      await helper.recoverInDoubt();
      assert.deepEqual(await maria.prepared(), []);
      const rows = await maria.sql<{ balance: string }[]>('SELECT balance FROM acct WHERE id = 1');
      assert.equal(Number(rows[0]?.balance), 100);
    } finally {
      await lock.end();
      stub.close();
      helper.close();
      server.forceShutdown();
      rm.close();
    }
  });
});
