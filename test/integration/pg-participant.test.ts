import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import type { TxId } from '../../src/core/tx-record.ts';
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { PgParticipant, PREPARED_METRICS } from 'twopc/pg';
import { TwopcParticipant } from 'twopc/internal/twopc-participant';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema, testDatabaseUrl, withClient } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeParticipant } from '../support/fake-participant.ts';

/** One "bank": a database of its own, a PgParticipant and the SDK helper on a gRPC server. */
class Bank {
  readonly name: string;
  readonly pool: pg.Pool;
  readonly pg: PgParticipant;
  participant: TwopcParticipant | null = null;
  server: grpc.Server | null = null;
  port = 0;

  constructor(name: string, url: string) {
    this.name = name;
    this.pool = new pg.Pool({ connectionString: url, max: 5 });
    this.pool.on('error', () => undefined);
    this.pg = new PgParticipant({ pool: this.pool, name });
  }

  async setUp(): Promise<void> {
    await this.pool.query('DROP TABLE IF EXISTS accounts, twopc_committed, twopc_branches');
    await this.pool.query(
      'CREATE TABLE accounts (id text PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0))',
    );
    await this.pool.query("INSERT INTO accounts VALUES ('x', 100)");
    await this.pg.setUp();
  }

  /** (Re)starts its gRPC server, on the same port as before if it had one. */
  async serve(coordinator: string): Promise<void> {
    const server = new grpc.Server();
    this.port = await new Promise<number>((res, rej) =>
      server.bindAsync(`127.0.0.1:${this.port}`, grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? rej(e) : res(p),
      ),
    );
    this.participant = new TwopcParticipant({
      name: this.name,
      endpoint: `127.0.0.1:${this.port}`,
      coordinator,
      handlers: this.pg,
      branches: this.pg.branchStore(),
    });
    this.participant.addTo(server);
    this.server = server;
  }

  crash(): void {
    this.server?.forceShutdown();
    this.participant?.close();
    this.server = null;
  }

  async balance(): Promise<number> {
    return Number(
      (await this.pool.query<{ balance: string }>("SELECT balance FROM accounts WHERE id = 'x'"))
        .rows[0]?.balance,
    );
  }

  async prepared(): Promise<string[]> {
    return (
      await this.pool.query<{ gid: string }>(
        'SELECT gid FROM pg_prepared_xacts WHERE database = current_database()',
      )
    ).rows.map((r) => r.gid);
  }
}

describe('PostgreSQL participant (PREPARE TRANSACTION)', function () {
  this.timeout(30_000);
  let h: Harness;
  const banks: Bank[] = [];

  async function bank(name: string): Promise<Bank> {
    const db = `twopc_test_${name}`;
    await withClient(async (c) => {
      const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (exists.rowCount === 0) {
        await c.query(`CREATE DATABASE ${db}`);
      }
    });
    const url = new URL(await testDatabaseUrl());
    url.pathname = `/${db}`;
    const b = new Bank(name, url.toString());
    await b.setUp();
    await b.serve(h.app.address);
    banks.push(b);
    return b;
  }

  async function transfer(from: Bank, to: Bank, amount: number): Promise<string> {
    const { txnId } = await h.client.begin();
    for (const [b, delta] of [
      [from, -amount],
      [to, amount],
    ] as const) {
      const md = new grpc.Metadata();
      md.set('twopc-txn-id', txnId);
      await b.participant?.join(md);
      await b.pg.work(txnId, (c) =>
        c.query("UPDATE accounts SET balance = balance + $1 WHERE id = 'x'", [delta]),
      );
    }
    return txnId;
  }

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url));
  });
  after(async function () {
    for (const b of banks) {
      b.crash();
      await b.pool.end();
    }
    await h.stop();
  });

  it('commits across two databases and leaves nothing prepared', async function () {
    const a = await bank('pa');
    const b = await bank('pb');
    const txnId = await transfer(a, b, 30);
    assert.equal((await h.client.commit(txnId, { waitForAcks: true })).outcome, 'COMMITTED');
    assert.deepEqual([await a.balance(), await b.balance()], [70, 130]);
    assert.deepEqual([...(await a.prepared()), ...(await b.prepared())], []);
  });

  it('rolls back both branches on abort', async function () {
    const a = await bank('pc');
    const b = await bank('pd');
    const txnId = await transfer(a, b, 30);
    await h.client.abort(txnId);
    await eventually(async () => (await h.client.get(txnId)).state === 'ABORTED');
    assert.deepEqual([await a.balance(), await b.balance()], [100, 100]);
  });

  it('never lets an Abort cut into running work: the rest of it would run outside the transaction, committed', async function () {
    const a = await bank('pw');
    const txnId = '00000000-0000-4000-8000-00000000a5a5';
    let midway: () => void = () => undefined;
    const reached = new Promise<void>((r) => (midway = r));
    let resume: () => void = () => undefined;
    const paused = new Promise<void>((r) => (resume = r));
    const working = a.pg.work(txnId, async (c) => {
      await c.query("UPDATE accounts SET balance = balance - 1 WHERE id = 'x'");
      midway();
      await paused; // the application between two statements of its work
      await c.query("UPDATE accounts SET balance = balance - 10 WHERE id = 'x'");
    });
    await reached;
    // A lease expiry (or an abandoned-branch check) aborts the branch now.
    const aborting = a.pg.abort(txnId);
    resume();
    await working;
    await aborting;
    const rows = await a.pool.query<{ balance: string }>(
      "SELECT balance FROM accounts WHERE id = 'x'",
    );
    assert.equal(rows.rows[0]?.balance, '100', 'part of an aborted branch was committed');
  });

  it('exports its prepared branches and the age of the oldest (OpenTelemetry metrics), as the MariaDB participant does', async function () {
    const a = await bank('pm');
    const reader = new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 3_600_000,
    });
    const provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);
    try {
      const p = new PgParticipant({ pool: a.pool, name: 'pm' });
      const gauge = async (name: string): Promise<number | undefined> => {
        const { resourceMetrics } = await reader.collect();
        return resourceMetrics.scopeMetrics
          .flatMap((s) => s.metrics)
          .find((m) => m.descriptor.name === name)
          ?.dataPoints.find((d) => d.attributes['db.system'] === 'postgresql')?.value as
          number | undefined;
      };
      const txnId = '00000000-0000-4000-8000-00000000b0b0';
      await p.work(txnId, (c) =>
        c.query("UPDATE accounts SET balance = balance + 1 WHERE id = 'x'"),
      );
      assert.deepEqual(await p.prepare(txnId), { vote: 'PREPARED' });
      assert.equal(await gauge(PREPARED_METRICS.COUNT), 1);
      assert.ok(((await gauge(PREPARED_METRICS.OLDEST_AGE)) ?? -1) >= 0);
      await p.commit(txnId);
      assert.equal(await gauge(PREPARED_METRICS.COUNT), 0);
      p.close();
    } finally {
      await provider.shutdown();
      metrics.disable();
    }
  });

  it('builds the gid only from validated ids', function () {
    const p = new PgParticipant({ pool: new pg.Pool(), name: 'bank-1' });
    assert.equal(
      p.gid('ABCDEF01-2345-4678-89AB-CDEF01234567'),
      'twopc:bank-1:abcdef01-2345-4678-89ab-cdef01234567',
    );
    assert.throws(() => p.gid("x'; COMMIT PREPARED 'y"), /not a transaction id/);
    assert.throws(() => new PgParticipant({ pool: new pg.Pool(), name: "a'b" }), /may hold only/);
  });

  it('reports a branch rolled back by hand as a heuristic outcome', async function () {
    const a = await bank('pe');
    const b = await bank('pf');
    const slow = await new FakeParticipant('slow', { prepareDelayMs: 500 }).start();
    try {
      const txnId = await transfer(a, b, 10);
      await h.client.enlist(txnId, slow.ref);
      const answer = h.client.commit(txnId, { waitForAcks: true });
      await eventually(async () => (await a.prepared()).length === 1);
      await a.pool.query(`ROLLBACK PREPARED '${a.pg.gid(txnId)}'`); // an operator's hand
      assert.equal((await answer).outcome, 'COMMITTED');
      const tx = await h.client.get(txnId);
      assert.equal(
        tx.participants.find((p) => p.name === 'pe')?.heuristicOutcome,
        'OUTCOME_ABORTED',
      );
      assert.equal(
        tx.participants.find((p) => p.name === 'pf')?.heuristicOutcome,
        'OUTCOME_UNSPECIFIED',
      );
    } finally {
      await slow.stop();
    }
  });

  it('resolves a branch prepared before a participant crash: through GetTransaction, and through re-sent phase 2', async function () {
    const a = await bank('pg');
    const b = await bank('ph');
    const slow = await new FakeParticipant('slow', { prepareDelayMs: 500 }).start();
    try {
      const txnId = await transfer(a, b, 25);
      await h.client.enlist(txnId, slow.ref);
      const answer = h.client.commit(txnId);
      // Both branches prepared and both PREPARED answers received (a crash
      // before its answer arrives is a failed Prepare: an abort).
      await eventually(async () => {
        const ps = h.app.coordinator.runOf(txnId as TxId)?.tx.participants ?? [];
        const voted = (name: string): boolean =>
          ps.find((p) => p.name === name)?.vote === 'PREPARED';
        return voted('pg') && voted('ph');
      });
      assert.equal((await a.prepared()).length + (await b.prepared()).length, 2);
      a.crash();
      b.crash();
      assert.equal((await answer).outcome, 'COMMITTED');
      // a restarts elsewhere and asks the coordinator about its in-doubt branch.
      const port = a.port;
      a.port = 0;
      await a.serve(h.app.address);
      assert.deepEqual(await a.pg.preparedInDatabase(), [txnId]);
      assert.equal(await a.participant?.recoverInDoubt(), 0);
      assert.deepEqual(await a.prepared(), []);
      assert.equal(await a.balance(), 75);
      a.port = port;
      // b restarts on its old address: the coordinator's retries reach it.
      await b.serve(h.app.address);
      await eventually(
        async () => (await b.prepared()).length === 0,
        15_000,
        'phase 2 re-sent to b',
      );
      assert.equal(await b.balance(), 125);
    } finally {
      await slow.stop();
    }
  });
});
