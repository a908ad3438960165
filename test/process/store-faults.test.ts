import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { TwopcClient } from '../../src/sdk/twopc-client.ts';
import type { OutcomeAnswer } from '../../src/sdk/twopc-client.ts';
import { assertBankInvariants, createBanks, quiesce } from '../support/bank.ts';
import type { BankProcess, Transfer } from '../support/bank.ts';
import { TwopcProcess } from '../support/child.ts';
import { eventually, expectStatus } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import { freePort } from '../support/hooks.ts';
import { OwnPostgres } from '../support/own-postgres.ts';

/**
 * The log's own PostgreSQL fails under a live coordinator: crashed with
 * `pg_ctl stop -m immediate` at each point of the protocol, its connections
 * reset, slow, out of connection slots, read-only. Participants are banks
 * (PostgreSQL databases through PgParticipant, in processes of their own);
 * after each case the bank test's invariants are checked.
 */
describe('store faults: the log PostgreSQL crashes, stalls or refuses writes under a live coordinator', function () {
  this.timeout(90_000);
  let logDb: OwnPostgres;
  let coordinator: TwopcProcess;
  let client: TwopcClient;
  let banks: BankProcess[] = [];
  let a: BankProcess;
  let b: BankProcess;
  const fleet = new FakeFleet();
  const log: Transfer[] = [];

  before(async function () {
    this.timeout(120_000);
    // A long WAL writer delay keeps unforced commits in memory for seconds:
    // a crash loses them, as the faults below need. Without full-page images
    // (safe here: an immediate shutdown tears no page) WAL pages fill slowly,
    // so nothing else nudges the writer to flush them early.
    logDb = await OwnPostgres.create({
      wal_writer_delay: "'10000ms'",
      full_page_writes: 'off',
      max_connections: '40',
    });
    coordinator = new TwopcProcess(['serve'], {
      DATABASE_URL: logDb.url(),
      TWOPC_LISTEN: `127.0.0.1:${await freePort()}`,
      TWOPC_COORDINATOR_NAME: 'store-faults',
      TWOPC_RETRY_BASE_MS: '20',
      TWOPC_RETRY_CAP_MS: '200',
      TWOPC_SWEEP_INTERVAL_MS: '100',
      TWOPC_RECOVERY_INTERVAL_MS: '300',
      // Renewals are forced writes, which flush everything before them:
      // rare, so that unforced writes stay unflushed until a crash.
      TWOPC_COORDINATOR_LEASE_MS: '60000',
      TWOPC_STORE_STALL_MS: '1000',
      TWOPC_STORE_MAX_PENDING: '50',
    });
    const address = await coordinator.serving();
    client = new TwopcClient(address, { attempts: 10, callTimeoutMs: 8_000 });
    banks = await createBanks('twopc_store_faults', 2);
    for (const bank of banks) {
      await bank.start(address);
    }
    [a, b] = banks as [BankProcess, BankProcess];
  });

  after(async function () {
    client?.close();
    await coordinator?.kill('SIGKILL');
    await Promise.all(banks.map((x) => x.close()));
    await fleet.stopAll();
    await logDb?.destroy();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      console.log(coordinator.output.slice(-6000));
    }
    // Every fault heals; then every transaction so far must be final and the
    // invariants hold, with the coordinator that lived through the faults.
    await logDb.set('synchronous_standby_names', null);
    await logDb.set('default_transaction_read_only', null);
    const final = await quiesce(client, banks, log, 60_000);
    await assertBankInvariants(banks, log, final);
  });

  let nextAccount = 0;
  const account = (): string => `acct${1 + (nextAccount++ % 8)}`;

  async function begin(): Promise<Transfer> {
    const t: Transfer = { txnId: (await client.begin()).txnId, amount: 10, told: 'UNKNOWN' };
    log.push(t);
    return t;
  }

  function tell(t: Transfer, answer: OutcomeAnswer): OutcomeAnswer {
    t.told = answer.outcome === 'PENDING' ? 'UNKNOWN' : answer.outcome;
    return answer;
  }

  /** Commits, or (a leg failed) aborts, as a client would; returns the answer. */
  async function finish(t: Transfer, legs: (() => Promise<void>)[]): Promise<OutcomeAnswer> {
    try {
      for (const leg of legs) {
        await leg();
      }
    } catch {
      // Unknown to the log (its Begin was lost): presumed aborted.
      return tell(t, await client.abort(t.txnId).catch(presumedAbort));
    }
    return tell(t, await client.commit(t.txnId));
  }

  const debit = (bank: BankProcess, t: Transfer) => () => bank.apply(t.txnId, account(), -t.amount);
  const credit = (bank: BankProcess, t: Transfer) => () => bank.apply(t.txnId, account(), t.amount);

  /** The coordinator's backend running a statement like `pattern` while waiting on `event`. */
  async function backendWaiting(pattern: string, event: string): Promise<number> {
    return eventually(
      async () => {
        const rows = await logDb.sql<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE application_name = 'twopc'
             AND wait_event = $1 AND query LIKE $2`,
          [event, `%${pattern}%`],
        );
        return rows[0]?.pid;
      },
      15_000,
      `a backend waiting on ${event}`,
    );
  }

  /**
   * Takes every connection slot, and ends the coordinator's connections, so
   * that it has none and can open none. Repeated until that holds: the
   * coordinator may reconnect between the two.
   */
  async function occupyEverySlot(hogs: pg.Client[]): Promise<void> {
    for (;;) {
      for (;;) {
        const c = new pg.Client({ connectionString: logDb.url() });
        c.on('error', () => undefined);
        try {
          await c.connect();
          hogs.push(c);
        } catch {
          break;
        }
      }
      const admin = hogs[hogs.length - 1];
      assert.ok(admin !== undefined, 'no connection could be made at all');
      const ended = await admin.query<{ pid: number }>(
        "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'twopc'",
      );
      if (ended.rows.length === 0) {
        return;
      }
      await eventually(async () => {
        const left = await admin.query(
          'SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])',
          [ended.rows.map((r) => r.pid)],
        );
        return left.rows.length === 0;
      });
    }
  }

  const DECISION_SQL = 'AS d(txn_id, state, reason, one_phase)';

  it('crash between Begin and Enlist: the transaction can only abort', async function () {
    const t = await begin();
    await logDb.restartAfterCrash();
    const answer = await finish(t, [debit(a, t), credit(b, t)]);
    assert.equal(answer.outcome, 'ABORTED');
  });

  it('crash between an acknowledged Enlist and Commit: aborts (LOG_STORE_RESTARTED), never commits without the lost participant', async function () {
    const t = await begin();
    await logDb.flush(); // the Begin reaches disk; the Enlist below will not
    await debit(a, t)();
    await logDb.restartAfterCrash();
    const answer = await finish(t, [credit(b, t)]);
    assert.equal(answer.outcome, 'ABORTED');
    assert.equal(answer.reason, 'LOG_STORE_RESTARTED');
  });

  it('two coordinators share the check: a transaction begun on one and committed on the other after a crash aborts', async function () {
    const other = new TwopcProcess(['serve'], {
      DATABASE_URL: logDb.url(),
      TWOPC_LISTEN: `127.0.0.1:${await freePort()}`,
      TWOPC_COORDINATOR_NAME: 'store-faults-2',
      TWOPC_METRICS_LISTEN: '127.0.0.1:0',
    });
    const viaOther = new TwopcClient(await other.serving(), { attempts: 10 });
    try {
      // Without a crash the other coordinator commits it.
      const control = await begin();
      await debit(a, control)();
      await credit(b, control)();
      assert.equal(tell(control, await viaOther.commit(control.txnId)).outcome, 'COMMITTED');
      const t = await begin();
      await logDb.flush();
      await debit(a, t)();
      await credit(b, t)();
      await logDb.restartAfterCrash();
      const answer = tell(t, await viaOther.commit(t.txnId));
      assert.equal(answer.outcome, 'ABORTED');
      assert.equal(answer.reason, 'LOG_STORE_RESTARTED');
    } finally {
      viaOther.close();
      await other.kill('SIGTERM');
    }
  });

  it('crash while prepares are out: aborts and tells every participant', async function () {
    const slow = await fleet.start('slow', { prepareDelayMs: 1_500 });
    const t = await begin();
    await debit(a, t)();
    await credit(b, t)();
    await client.enlist(t.txnId, slow.ref);
    const committing = client.commit(t.txnId);
    await slow.waitFor((c) => c.method === 'Prepare' && c.txnId === t.txnId);
    await logDb.restartAfterCrash();
    const answer = tell(t, await committing);
    assert.equal(answer.outcome, 'ABORTED');
    assert.equal(answer.reason, 'LOG_STORE_RESTARTED');
    await slow.waitFor((c) => c.method === 'Abort' && c.txnId === t.txnId);
    assert.equal(slow.callsOf('Commit', t.txnId).length, 0);
  });

  it('crash during the decision write (its commit flushed, not yet acknowledged): the decision is re-read, never guessed', async function () {
    const t = await begin();
    await debit(a, t)();
    await credit(b, t)();
    // A synchronous standby that never answers holds the decision's COMMIT
    // after its local flush: the crash lands inside it.
    await logDb.set('synchronous_standby_names', 'twopc_nobody');
    const committing = client.commit(t.txnId);
    await backendWaiting(DECISION_SQL, 'SyncRep');
    await logDb.crash();
    await logDb.start();
    await logDb.set('synchronous_standby_names', null);
    const answer = tell(t, await committing);
    // Flushed before the crash, the decision survived it: it is the outcome.
    assert.equal(answer.outcome, 'COMMITTED');
  });

  it('connection reset during the decision COMMIT (pg_terminate_backend): resolved by re-reading the row', async function () {
    const t = await begin();
    await debit(a, t)();
    await credit(b, t)();
    await logDb.set('synchronous_standby_names', 'twopc_nobody');
    const committing = client.commit(t.txnId);
    const pid = await backendWaiting(DECISION_SQL, 'SyncRep');
    await logDb.sql('SELECT pg_terminate_backend($1)', [pid]);
    // The commit is in the log but not known durable (the standby never
    // acknowledged it): the coordinator re-reads it and makes it durable
    // before anyone is told, so nothing may answer yet.
    await new Promise((r) => setTimeout(r, 500));
    const prepared = await a.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_prepared_xacts WHERE database = current_database()',
    );
    assert.equal(prepared.rows[0]?.n, 1, 'phase 2 began before the decision was known durable');
    await logDb.set('synchronous_standby_names', null);
    const answer = tell(t, await committing);
    assert.equal(answer.outcome, 'COMMITTED');
    assert.match(coordinator.output, /the write was in doubt; re-read it from the log/);
  });

  it('crash after the decision, mid phase 2: the live coordinator finishes it from the log', async function () {
    const flaky = await fleet.start('flaky', { failCommitTimes: 5 });
    const t = await begin();
    await debit(a, t)();
    await credit(b, t)();
    await client.enlist(t.txnId, flaky.ref);
    const answer = tell(t, await client.commit(t.txnId));
    assert.equal(answer.outcome, 'COMMITTED');
    await logDb.restartAfterCrash();
    await eventually(
      async () => (await client.get(t.txnId)).state === 'COMMITTED',
      20_000,
      'COMMITTED in the log',
    );
    assert.ok(flaky.callsOf('Commit', t.txnId).length >= 6);
  });

  it('crash right after a transaction finished (its completion lost): the live coordinator re-reads the log and finishes it again', async function () {
    const t = await begin();
    await debit(a, t)();
    await credit(b, t)();
    const answer = tell(t, await client.commit(t.txnId, { waitForAcks: true }));
    assert.equal(answer.state, 'COMMITTED');
    await logDb.restartAfterCrash();
    // The completion was not forced: usually the crash took it, and the log
    // says COMMITTING again, with no run left in memory to finish it.
    const after = (await client.get(t.txnId)).state;
    await eventually(
      async () => (await client.get(t.txnId)).state === 'COMMITTED',
      20_000,
      `COMMITTED again (it was ${after} after the crash)`,
    );
  });

  it('crash right after a one-phase commit: the log says COMMITTED, as the client was told', async function () {
    const t = await begin();
    const answer = await finish(t, [debit(a, t), credit(a, t)]);
    assert.equal(answer.outcome, 'COMMITTED');
    await logDb.restartAfterCrash();
    const tx = await client.get(t.txnId);
    assert.equal(tx.state, 'COMMITTED');
    assert.equal(tx.onePhase, true);
  });

  it('crash right after an Abort answer: the abort stands, and a later Commit cannot commit', async function () {
    const t = await begin();
    await debit(a, t)();
    await credit(b, t)();
    assert.equal(tell(t, await client.abort(t.txnId)).outcome, 'ABORTED');
    await logDb.restartAfterCrash();
    assert.match((await client.get(t.txnId)).state, /^ABORT(ING|ED)$/);
    assert.equal((await client.commit(t.txnId)).outcome, 'ABORTED');
  });

  it('PostgreSQL down before Begin: UNAVAILABLE, nothing sent to anyone, then work resumes', async function () {
    const watcher = await fleet.start('watcher');
    const once = new TwopcClient(addressOf(coordinator), { attempts: 1 });
    await logDb.crash();
    try {
      await expectStatus(
        once.begin({ participants: [watcher.ref] }),
        grpc.status.UNAVAILABLE,
        /transaction log is unreachable/,
      );
    } finally {
      await logDb.start();
    }
    assert.equal(watcher.calls.length, 0);
    const t = await begin();
    const answer = await finish(t, [debit(a, t), credit(b, t)]);
    assert.equal(answer.outcome, 'COMMITTED');
    once.close();
  });

  it('PostgreSQL slow (statements waiting for seconds): new work is refused at once with a retry hint, nothing queues without bound, and everything finishes once it recovers', async function () {
    const once = new TwopcClient(addressOf(coordinator), { attempts: 1, callTimeoutMs: 20_000 });
    const t = await begin();
    await debit(a, t)();
    await credit(b, t)();
    // Every statement on the transaction table now waits on this lock.
    const holder = new pg.Client({ connectionString: logDb.url() });
    holder.on('error', () => undefined);
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE twopc.twopc_transactions IN ACCESS EXCLUSIVE MODE');
    let released = false;
    try {
      const committing = client.commit(t.txnId);
      const flood = Array.from({ length: 200 }, () =>
        once.begin().then(
          () => 'ok',
          (e: grpc.ServiceError) => e,
        ),
      );
      // The first ones wait (at most 50 at a time); the rest are refused at once.
      const refused = await eventually(async () => {
        const settled = await Promise.all(
          flood.map((p) => Promise.race([p, new Promise((r) => setTimeout(() => r(null), 0))])),
        );
        const done = settled.filter((x): x is grpc.ServiceError => x instanceof Error);
        return done.length >= 150 ? done : null;
      }, 10_000);
      for (const e of refused) {
        assert.equal(grpc.status[e.code], 'RESOURCE_EXHAUSTED', e.message);
        assert.match(e.details, /transaction log is overloaded/);
        assert.deepEqual(e.metadata.get('grpc-retry-pushback-ms'), ['1000']);
      }
      const metrics = await scrape(coordinator);
      const pending = Number(/^twopc_store_pending_operations\S* (\d+)/m.exec(metrics)?.[1]);
      assert.ok(pending <= 50, `${pending} operations wait on the log`);
      // Stalled past the threshold: even a single new call is refused now.
      await new Promise((r) => setTimeout(r, 1_200));
      await expectStatus(once.begin(), grpc.status.RESOURCE_EXHAUSTED);
      await holder.query('ROLLBACK');
      released = true;
      const answers = await Promise.all(flood);
      assert.ok(answers.filter((x) => x === 'ok').length <= 50);
      assert.equal(tell(t, await committing).outcome, 'COMMITTED');
      const after = await begin();
      assert.equal((await finish(after, [debit(a, after), credit(b, after)])).outcome, 'COMMITTED');
    } finally {
      if (!released) {
        await holder.query('ROLLBACK').catch(() => undefined);
      }
      await holder.end();
      once.close();
    }
  });

  it('connection slots exhausted by others: fails closed (UNAVAILABLE), recovers once they are freed', async function () {
    const once = new TwopcClient(addressOf(coordinator), { attempts: 1 });
    const hogs: pg.Client[] = [];
    try {
      await occupyEverySlot(hogs);
      await expectStatus(once.begin(), grpc.status.UNAVAILABLE);
    } finally {
      await Promise.all(hogs.map((c) => c.end()));
    }
    const t = await begin();
    assert.equal((await finish(t, [debit(a, t), credit(b, t)])).outcome, 'COMMITTED');
    once.close();
  });

  it('database turned read-only: Begin fails closed, a decision waits, and both recover when it clears', async function () {
    const once = new TwopcClient(addressOf(coordinator), { attempts: 1 });
    const slow = await fleet.start('slow-ro', { prepareDelayMs: 800 });
    const t = await begin();
    await debit(a, t)();
    await credit(b, t)();
    await client.enlist(t.txnId, slow.ref);
    const committing = client.commit(t.txnId);
    await slow.waitFor((c) => c.method === 'Prepare' && c.txnId === t.txnId);
    await logDb.set('default_transaction_read_only', 'on');
    await expectStatus(once.begin(), grpc.status.UNAVAILABLE);
    // The votes arrive while the log refuses writes: the decision waits.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(slow.callsOf('Commit', t.txnId).length + slow.callsOf('Abort', t.txnId).length, 0);
    await logDb.set('default_transaction_read_only', null);
    assert.equal(tell(t, await committing).outcome, 'COMMITTED');
    once.close();
  });
});

/** NOT_FOUND: the crash lost the transaction's Begin; unknown means aborted. */
function presumedAbort(err: grpc.ServiceError): OutcomeAnswer {
  assert.equal(err.code, grpc.status.NOT_FOUND, err.message);
  return { outcome: 'ABORTED', reason: '', state: 'ABORTED' };
}

/** The coordinator's Prometheus metrics. */
async function scrape(p: TwopcProcess): Promise<string> {
  const url = /"metrics":"([^"]+)"/.exec(p.output)?.[1] ?? '';
  return (await fetch(url)).text();
}

function addressOf(p: TwopcProcess): string {
  return /"address":"([^"]+)"[^\n]*twopc serving/.exec(p.output)?.[1] ?? '';
}
