import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import mysql from 'mysql2/promise';
import { checkBank, notPassed } from '../support/conformance-bank.ts';
import {
  MySqlParticipant,
  BranchBusyError,
  HeuristicRollbackError,
  PREPARED_METRICS,
} from 'twopc/mysql';
import { createMySqlBank } from '../support/bank.ts';
import type { BankProcess } from '../support/bank.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { OwnMariaDb } from '../support/own-mariadb.ts';

/** One account table and a MySqlParticipant on its own pool. */
async function ledger(
  server: OwnMariaDb,
  name: string,
): Promise<{ rm: MySqlParticipant; pool: mysql.Pool; balance: () => Promise<number> }> {
  await server.sql(`DROP TABLE IF EXISTS acct_${name}`);
  await server.sql(
    `CREATE TABLE acct_${name} (id INT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB`,
  );
  await server.sql(`INSERT INTO acct_${name} VALUES (1, 100), (2, 100)`);
  const pool = server.pool();
  const rm = new MySqlParticipant({ pool, name });
  await rm.setUp();
  const balance = async (): Promise<number> => {
    const rows = await server.sql<{ s: string }[]>(`SELECT sum(balance) AS s FROM acct_${name}`);
    return Number(rows[0]?.s);
  };
  return { rm, pool, balance };
}

describe('MariaDB participant (XA), on a real MariaDB', function () {
  this.timeout(120_000);
  let h: Harness;
  let server: OwnMariaDb;
  const pools: mysql.Pool[] = [];
  const banks: BankProcess[] = [];

  before(async function () {
    server = await OwnMariaDb.create({ binlog: true });
    h = await startCoordinator(await migratedSchema(import.meta.url));
  });
  after(async function () {
    await Promise.all(banks.map((b) => b.close()));
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await h?.stop();
    await server?.destroy();
  });

  async function own(name: string): ReturnType<typeof ledger> {
    const l = await ledger(server, name);
    pools.push(l.pool);
    return l;
  }

  it('passes the conformance kit, including prepared work that survives a SIGKILL of its process', async function () {
    const bank = await createMySqlBank(server, 'maria-kit', 'twopc_kit');
    banks.push(bank);
    await bank.start(h.app.address);
    const results = await checkBank({
      client: h.client,
      coordinator: h.app.address,
      bank,
      kill: () => bank.kill(),
      delta: 5,
    });
    assert.deepEqual(notPassed(results), []);
    const rows = await server.sql<{ balance: string }[]>(
      "SELECT balance FROM accounts WHERE id = 'acct1'",
      [],
      'twopc_kit',
    );
    assert.equal(Number(rows[0]?.balance), 1_010, 'the prepared work was committed');
    assert.deepEqual(await server.prepared(), []);
    // Work the kit gave and never prepared is released by the abandoned-branch check.
    await eventually(
      async () => (await bank.ledger.openCount()) === 0,
      15_000,
      'no branch left open',
    );
  });

  it('builds the XID from validated ids only, as hex literals with its own format id', function () {
    const rm = new MySqlParticipant({ pool: server.pool(), name: 'bank-1' });
    assert.equal(
      rm.xid('ABCDEF01-2345-4678-89AB-CDEF01234567'),
      "X'61626364656630312d323334352d343637382d383961622d636465663031323334353637',X'62616e6b2d31',1953984368",
    );
    assert.throws(() => rm.xid("x',X'00',1; XA COMMIT 'y"), /not a transaction id/);
    assert.throws(
      () => new MySqlParticipant({ pool: server.pool(), name: "a'b" }),
      /may hold only/,
    );
  });

  it('votes ABORT naming a deadlock inside the work (ROLLBACK ONLY), and leaves nothing behind', async function () {
    const { rm, balance } = await own('dl');
    const [a, b] = [randomUUID(), randomUUID()];
    await rm.work(a, (c) => c.query('UPDATE acct_dl SET balance = balance - 1 WHERE id = 1'));
    await rm.work(b, (c) => c.query('UPDATE acct_dl SET balance = balance - 1 WHERE id = 2'));
    // a waits on b's row; b then asks for a's: one of them is the deadlock's victim.
    const aWaits = rm.work(a, (c) =>
      c.query('UPDATE acct_dl SET balance = balance - 1 WHERE id = 2'),
    );
    await untilTransactions(server, "trx_state = 'LOCK WAIT'", 1);
    const bWaits = rm.work(b, (c) =>
      c.query('UPDATE acct_dl SET balance = balance - 1 WHERE id = 1'),
    );
    const [ra, rb] = await Promise.allSettled([aWaits, bWaits]);
    const victim = ra.status === 'rejected' ? a : b;
    const survivor = victim === a ? b : a;
    assert.equal([ra, rb].filter((r) => r.status === 'rejected').length, 1);
    const vote = await rm.prepare(victim);
    assert.equal(vote.vote, 'ABORT');
    assert.match(vote.vote === 'ABORT' ? vote.reason : '', /^DEADLOCK: /);
    assert.deepEqual(await rm.prepare(survivor), { vote: 'PREPARED' });
    await rm.commit(survivor);
    assert.equal(await balance(), 198);
    assert.deepEqual(await server.prepared(), []);
    await untilTransactions(server, "trx_state <> 'X'", 0);
  });

  it('never takes "unknown XID" for done: a branch still attached to the connection that prepared it is retried, not committed on a guess', async function () {
    const { rm, balance } = await own('att');
    const txnId = randomUUID();
    const xid = rm.xid(txnId);
    // The preparing connection still open: what a participant that keeps it
    // (or one whose close has not reached the server yet) leaves.
    const conn = await mysql.createConnection(server.config());
    try {
      await conn.query(`XA START ${xid}`);
      await conn.query('UPDATE acct_att SET balance = balance + 10 WHERE id = 1');
      await conn.query('INSERT INTO twopc_committed (gid) VALUES (?)', [rm.gid(txnId)]);
      await conn.query(`XA END ${xid}`);
      await conn.query(`XA PREPARE ${xid}`);
      await assert.rejects(rm.commit(txnId), BranchBusyError);
      assert.equal(await balance(), 200, 'nothing committed yet');
      assert.deepEqual(await rm.preparedInDatabase(), [txnId]);
    } finally {
      await conn.end();
    }
    await rm.commit(txnId); // the coordinator's retry, once detached
    assert.equal(await balance(), 210);
    assert.deepEqual(await server.prepared(), []);
    await rm.commit(txnId); // a duplicate: the marker says committed
  });

  it('reports a branch rolled back behind its back as a heuristic outcome, never as success', async function () {
    const { rm, balance } = await own('heur');
    const txnId = randomUUID();
    await rm.work(txnId, (c) => c.query('UPDATE acct_heur SET balance = balance + 5 WHERE id = 1'));
    assert.deepEqual(await rm.prepare(txnId), { vote: 'PREPARED' });
    await server.sql(`XA ROLLBACK ${rm.xid(txnId)}`); // an operator's hand
    await assert.rejects(rm.commit(txnId), HeuristicRollbackError);
    assert.equal(await balance(), 200);
  });

  it('answers duplicate and reordered Commit/Abort from the database itself', async function () {
    const { rm, balance } = await own('dup');
    // Abort before any work: a tombstone; the late work and Prepare are refused.
    const early = randomUUID();
    await rm.abort(early);
    await assert.rejects(
      rm.work(early, (c) => c.query('UPDATE acct_dup SET balance = 0')),
      /was aborted here/,
    );
    assert.equal((await rm.prepare(early)).vote, 'ABORT');
    // Commit twice, then an Abort after the Commit: committed, said so.
    const t = randomUUID();
    await rm.work(t, (c) => c.query('UPDATE acct_dup SET balance = balance + 1 WHERE id = 1'));
    assert.deepEqual(await rm.prepare(t), { vote: 'PREPARED' });
    assert.deepEqual(await rm.prepare(t), { vote: 'PREPARED' });
    await rm.commit(t);
    await rm.commit(t);
    await assert.rejects(
      rm.abort(t),
      (e: Error & { outcome?: string }) => e.outcome === 'COMMITTED',
    );
    // Abort twice after Prepare; a Commit after it finds it rolled back.
    const u = randomUUID();
    await rm.work(u, (c) => c.query('UPDATE acct_dup SET balance = balance + 1 WHERE id = 2'));
    assert.deepEqual(await rm.prepare(u), { vote: 'PREPARED' });
    await rm.abort(u);
    await rm.abort(u);
    await assert.rejects(rm.commit(u), HeuristicRollbackError);
    assert.equal(await balance(), 201);
    // A participant that restarted (a new instance) still answers from the database.
    const again = new MySqlParticipant({ pool: server.pool(), name: 'dup' });
    await again.commit(t);
    await again.abort(u);
  });

  it('maps the XA state machine’s refusals: a COMMIT inside the work (XAER_RMFAIL), an XID in use (XAER_DUPID)', async function () {
    const { rm } = await own('xa');
    const t = randomUUID();
    await assert.rejects(
      rm.work(t, (c) => c.query('COMMIT')),
      (e: Error & { errno?: number }) => e.errno === 1399,
    );
    const vote = await rm.prepare(t);
    assert.match(vote.vote === 'ABORT' ? vote.reason : '', /^XA_STATE: /);
    // The same XID prepared already: a second branch cannot start under it.
    const u = randomUUID();
    await rm.work(u, (c) => c.query('UPDATE acct_xa SET balance = balance + 1 WHERE id = 1'));
    assert.deepEqual(await rm.prepare(u), { vote: 'PREPARED' });
    const other = new MySqlParticipant({ pool: server.pool(), name: 'xa' });
    await assert.rejects(
      other.work(u, async () => undefined),
      /^XaBranchError: DUPLICATE_XID|DUPLICATE_XID: XA START/,
    );
    await rm.abort(u);
    assert.deepEqual(await server.prepared(), []);
  });

  it('never lets the sweep pick a branch whose Prepare is still on its way', async function () {
    const { rm } = await own('race');
    const preparing = new Set<string>();
    const picked: string[] = [];
    let stop = false;
    const sweep = (async () => {
      while (!stop) {
        for (const id of await rm.unownedPrepared()) {
          if (preparing.has(id)) {
            picked.push(id);
          }
        }
      }
    })();
    for (let round = 0; round < 20; round++) {
      const ids = Array.from({ length: 10 }, () => randomUUID());
      await Promise.all(
        ids.map(async (id, i) => {
          preparing.add(id);
          await rm.work(id, (c) =>
            c.query('INSERT INTO acct_race VALUES (?, 0)', [100 + round * 10 + i]),
          );
          await rm.prepare(id);
          preparing.delete(id);
        }),
      );
      await Promise.all(ids.map((id) => rm.abort(id)));
    }
    stop = true;
    await sweep;
    assert.deepEqual(picked, []);
  });

  it('exports the prepared branches and the age of the oldest (OpenTelemetry metrics)', async function () {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
    try {
      const { rm } = await own('metr');
      const gauge = async (name: string): Promise<number | undefined> => {
        const { resourceMetrics } = await reader.collect();
        const m = resourceMetrics.scopeMetrics
          .flatMap((s) => s.metrics)
          .find((x) => x.descriptor.name === name);
        return m?.dataPoints.find((p) => p.attributes['twopc.participant.name'] === 'metr')
          ?.value as number | undefined;
      };
      const t = randomUUID();
      await rm.work(t, (c) => c.query('UPDATE acct_metr SET balance = balance + 1 WHERE id = 1'));
      await rm.prepare(t);
      assert.equal(await gauge(PREPARED_METRICS.COUNT), 1);
      assert.ok(((await gauge(PREPARED_METRICS.OLDEST_AGE)) ?? -1) >= 0);
      await rm.commit(t);
      assert.equal(await gauge(PREPARED_METRICS.COUNT), 0);
      rm.close();
    } finally {
      await provider.shutdown();
      metrics.disable();
    }
  });
});

/**
 * Waits until `count` InnoDB transactions match a condition. InnoDB
 * refreshes information_schema.innodb_trx only when it was not read for
 * 0.1 s: polled faster, it would never change.
 */
async function untilTransactions(server: OwnMariaDb, where: string, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 150));
    const rows = await server.sql<{ n: number }[]>(
      `SELECT count(*) AS n FROM information_schema.innodb_trx WHERE ${where}`,
    );
    if (Number(rows[0]?.n) === count) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`not ${count} InnoDB transactions with ${where} within 10 s`);
    }
  }
}
