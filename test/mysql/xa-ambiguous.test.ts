import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { MySqlParticipant } from 'twopc/mysql';
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
});
