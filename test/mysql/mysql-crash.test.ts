import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';
import type mysql from 'mysql2/promise';
import { TwopcParticipant } from 'twopc/internal/twopc-participant';
import { MySqlParticipant } from 'twopc/mysql';
import { OwnMariaDb } from '../support/own-mariadb.ts';

for (const binlog of [true, false]) {
  describe(`MariaDB participant through a SIGKILL of mariadbd (binary log ${binlog ? 'on' : 'off'})`, function () {
    this.timeout(120_000);
    let server: OwnMariaDb;
    let pool: mysql.Pool;

    before(async function () {
      server = await OwnMariaDb.create({ binlog });
      await server.sql(
        'CREATE TABLE acct (id INT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB',
      );
      await server.sql('INSERT INTO acct VALUES (1, 100), (2, 100), (3, 100)');
      pool = server.pool();
    });
    after(async function () {
      await pool?.end().catch(() => undefined);
      await server?.destroy();
    });

    const balances = async (): Promise<number[]> =>
      (await server.sql<{ balance: string }[]>('SELECT balance FROM acct ORDER BY id')).map((r) =>
        Number(r.balance),
      );

    it('keeps prepared branches through the crash, finishes each as told, and rolls back the one not yet prepared', async function () {
      const rm = new MySqlParticipant({ pool, name: 'crash' });
      const found = await rm.setUp();
      assert.equal(found.flavor, 'MariaDB');
      assert.deepEqual(found.problems, []);
      const [toCommit, toAbort, unprepared] = [randomUUID(), randomUUID(), randomUUID()];
      for (const [t, id] of [
        [toCommit, 1],
        [toAbort, 2],
        [unprepared, 3],
      ] as const) {
        await rm.work(t, (c) =>
          c.query('UPDATE acct SET balance = balance + 10 WHERE id = ?', [id]),
        );
      }
      assert.deepEqual(await rm.prepare(toCommit), { vote: 'PREPARED' });
      assert.deepEqual(await rm.prepare(toAbort), { vote: 'PREPARED' });
      // Between XA PREPARE and XA COMMIT: the server dies.
      await server.kill();
      await server.start();
      assert.deepEqual((await rm.preparedInDatabase()).sort(), [toCommit, toAbort].sort());
      // The coordinator's phase 2, from a fresh connection of the pool.
      await rm.commit(toCommit);
      await rm.abort(toAbort);
      assert.deepEqual(await balances(), [110, 100, 100]);
      assert.deepEqual(await server.prepared(), []);
      // The branch that never prepared died with the server: it votes ABORT.
      const vote = await rm.prepare(unprepared);
      assert.equal(vote.vote, 'ABORT');
      await rm.abort(unprepared);
      assert.deepEqual(await balances(), [110, 100, 100]);
      rm.close();
    });

    if (binlog) {
      it('refuses to serve where it cannot be correct, naming the setting to fix (health NOT_SERVING)', async function () {
        await server.sql("SET GLOBAL binlog_format = 'STATEMENT'");
        const fresh = server.pool();
        const helper = new TwopcParticipant({
          name: 'refused',
          endpoint: '127.0.0.1:1',
          coordinator: '127.0.0.1:1',
          handlers: {
            prepare: async () => ({ vote: 'PREPARED' }),
            commit: async () => undefined,
            abort: async () => undefined,
          },
        });
        const grpcServer = new grpc.Server();
        helper.addTo(grpcServer);
        try {
          const rm = new MySqlParticipant({ pool: fresh, name: 'refused' });
          const found = await rm.setUp(helper);
          assert.equal(found.problems.length, 1);
          assert.match(
            found.problems[0] ?? '',
            /binlog_format=STATEMENT cannot log READ COMMITTED transactions: set binlog_format=ROW/,
          );
          await assert.rejects(
            rm.work(randomUUID(), async () => undefined),
            /does not serve: binlog_format=STATEMENT/,
          );
          const port = await new Promise<number>((res, rej) =>
            grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
              e ? rej(e) : res(p),
            ),
          );
          const def = grpc.loadPackageDefinition(
            protoLoader.loadSync(protoPath, { enums: String }),
          ) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
          const health = new def.grpc.health.v1.Health(
            `127.0.0.1:${port}`,
            grpc.credentials.createInsecure(),
          ) as unknown as grpc.Client & {
            check(r: object, cb: (e: Error | null, r?: { status: string }) => void): void;
          };
          const status = await new Promise<string>((resolve) =>
            health.check({ service: 'twopc.v1.Participant' }, (e, r) =>
              resolve(e ? 'ERROR' : (r?.status ?? '')),
            ),
          );
          health.close();
          assert.equal(status, 'NOT_SERVING');
          rm.close();
        } finally {
          helper.close();
          grpcServer.forceShutdown();
          await fresh.end();
          await server.sql("SET GLOBAL binlog_format = 'MIXED'");
        }
      });
    }
  });
}
