import assert from 'node:assert/strict';
import pg from 'pg';
import { TwopcClient } from 'twopc/internal/twopc-client';
import type { Transfer } from '../support/bank.ts';
import { TwopcProcess } from '../support/child.ts';
import { eventually } from '../support/expect-status.ts';
import { freePort } from '../support/hooks.ts';
import { describeStoreFaults } from '../support/store-fault-rig.ts';

/**
 * The log's own PostgreSQL crashes (`pg_ctl stop -m immediate`) at each point
 * of the protocol, or a connection is reset, under a live coordinator.
 * Participants are banks (PostgreSQL databases through PgParticipant, in
 * processes of their own); after each case every fault heals and the bank
 * test's invariants are checked with the coordinator that lived through it.
 */
describeStoreFaults(
  'store faults: the log PostgreSQL crashes under a live coordinator',
  'store-crashes',
  (rig) => {
    const DECISION_SQL = 'AS d(txn_id, state, reason, one_phase';

    it('crash between Begin and Enlist: the transaction can only abort', async function () {
      const t = await rig.begin();
      await rig.logDb.restartAfterCrash();
      const answer = await rig.finish(t, [rig.debit(rig.a, t), rig.credit(rig.b, t)]);
      assert.equal(answer.outcome, 'ABORTED');
    });

    it('crash between an acknowledged Enlist and Commit: aborts (LOG_STORE_RESTARTED), never commits without the lost participant', async function () {
      const t = await rig.begin();
      await rig.logDb.flush(); // the Begin reaches disk; the Enlist below will not
      await rig.debit(rig.a, t)();
      await rig.logDb.restartAfterCrash();
      const answer = await rig.finish(t, [rig.credit(rig.b, t)]);
      assert.equal(answer.outcome, 'ABORTED');
      assert.equal(answer.reason, 'LOG_STORE_RESTARTED');
    });

    it('two coordinators share the check: a transaction begun on one and committed on the other after a crash aborts', async function () {
      const other = new TwopcProcess(['serve'], {
        DATABASE_URL: rig.logDb.url(),
        TWOPC_LISTEN: `127.0.0.1:${await freePort()}`,
        TWOPC_COORDINATOR_NAME: 'store-faults-2',
        TWOPC_METRICS_LISTEN: '127.0.0.1:0',
      });
      const viaOther = new TwopcClient(await other.serving(), { attempts: 10 });
      try {
        // Without a crash the other coordinator commits it.
        const control = await rig.begin();
        await rig.debit(rig.a, control)();
        await rig.credit(rig.b, control)();
        assert.equal(rig.tell(control, await viaOther.commit(control.txnId)).outcome, 'COMMITTED');
        const t = await rig.begin();
        await rig.logDb.flush();
        await rig.debit(rig.a, t)();
        await rig.credit(rig.b, t)();
        await rig.logDb.restartAfterCrash();
        const answer = rig.tell(t, await viaOther.commit(t.txnId));
        assert.equal(answer.outcome, 'ABORTED');
        assert.equal(answer.reason, 'LOG_STORE_RESTARTED');
      } finally {
        viaOther.close();
        await other.kill('SIGTERM');
      }
    });

    it('crash while early Prepares are out and an Enlist is lost with it: the participants named at Begin got Prepare and are told Abort; the one enlisted got none', async function () {
      // Fake participants never ask GetTransaction: only the coordinator can release them.
      const x = await rig.fleet.start('early-x');
      const y = await rig.fleet.start('early-y');
      const z = await rig.fleet.start('enlisted-z');
      const once = new TwopcClient(rig.address, { attempts: 1 });
      const t: Transfer = {
        txnId: (await once.begin({ timeoutMs: 2_000, participants: [x.ref, y.ref] })).txnId,
        amount: 0,
        told: 'UNKNOWN',
      };
      rig.log.push(t);
      await rig.logDb.flush(); // the Begin reaches disk; the Enlist below will not
      await once.enlist(t.txnId, z.ref);
      const holder = new pg.Client({ connectionString: rig.logDb.url() });
      holder.on('error', () => undefined);
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM twopc.twopc_transactions WHERE txn_id = $1 FOR UPDATE', [
        t.txnId,
      ]);
      // The claim waits for the row; the early Prepares to the participants
      // named at Begin leave and are answered. The one enlisted waits for
      // the claim, forced: its Enlist is not durable yet.
      const committing = once.commit(t.txnId).then(
        (a) => rig.tell(t, a),
        () => null,
      );
      await x.waitFor((c) => c.method === 'Prepare' && c.txnId === t.txnId);
      await y.waitFor((c) => c.method === 'Prepare' && c.txnId === t.txnId);
      await rig.logDb.restartAfterCrash();
      await holder.end().catch(() => undefined);
      // The claim failed (the lease then expires) or landed after the crash
      // (the store restarted since Begin): either way it aborts.
      const told = await committing;
      assert.ok(told === null || told.outcome === 'ABORTED', JSON.stringify(told));
      await eventually(
        async () => (await rig.client.get(t.txnId)).state === 'ABORTED',
        20_000,
        'the abort',
      );
      // The log lost the Enlist: it lists x and y, and z never got a Prepare
      // that no abort would reach.
      const listed = (await rig.client.get(t.txnId)).participants.map((p) => p.name).sort();
      assert.deepEqual(listed, ['early-x', 'early-y']);
      for (const p of [x, y]) {
        await p.waitFor((c) => c.method === 'Abort' && c.txnId === t.txnId, 20_000);
        assert.equal(p.callsOf('Commit', t.txnId).length, 0);
      }
      assert.equal(z.callsOf('Prepare', t.txnId).length, 0);
      once.close();
    });

    it('crash while prepares are out: aborts and tells every participant', async function () {
      const { t, slow, committing } = await rig.commitWhilePreparing('slow', 1_500);
      await rig.logDb.restartAfterCrash();
      const answer = rig.tell(t, await committing);
      assert.equal(answer.outcome, 'ABORTED');
      assert.equal(answer.reason, 'LOG_STORE_RESTARTED');
      await slow.waitFor((c) => c.method === 'Abort' && c.txnId === t.txnId);
      assert.equal(slow.callsOf('Commit', t.txnId).length, 0);
    });

    it('crash during the decision write (its commit flushed, not yet acknowledged): the decision is re-read, never guessed', async function () {
      // The claim is in the log (forced: participants enlisted) and a slow
      // voter holds the decision back; then a synchronous standby that never
      // answers holds the decision's COMMIT after its local flush: the crash
      // lands inside it.
      const { t, committing } = await rig.commitWhilePreparing('slow-vote', 1_500);
      await rig.logDb.set('synchronous_standby_names', 'twopc_nobody');
      await rig.backendWaiting(DECISION_SQL, 'SyncRep');
      await rig.logDb.crash();
      await rig.logDb.start();
      await rig.logDb.set('synchronous_standby_names', null);
      const answer = rig.tell(t, await committing);
      // Flushed before the crash, the decision survived it: it is the outcome.
      assert.equal(answer.outcome, 'COMMITTED');
    });

    it('connection reset during the decision COMMIT (pg_terminate_backend): resolved by re-reading the row', async function () {
      const { t, committing } = await rig.commitWhilePreparing('slow-vote-2', 1_500);
      await rig.logDb.set('synchronous_standby_names', 'twopc_nobody');
      const pid = await rig.backendWaiting(DECISION_SQL, 'SyncRep');
      await rig.logDb.sql('SELECT pg_terminate_backend($1)', [pid]);
      // The commit is in the log but not known durable (the standby never
      // acknowledged it): the coordinator re-reads it and waits in its forced
      // barrier until it is durable; until then nobody may hear of it.
      await rig.backendWaiting('SET updated_at = updated_at', 'SyncRep');
      const prepared = await rig.a.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_prepared_xacts WHERE database = current_database()',
      );
      assert.equal(prepared.rows[0]?.n, 1, 'phase 2 began before the decision was known durable');
      await rig.logDb.set('synchronous_standby_names', null);
      const answer = rig.tell(t, await committing);
      assert.equal(answer.outcome, 'COMMITTED');
      assert.match(rig.coordinator.output, /the write was in doubt; re-read it from the log/);
    });

    it('crash after the decision, mid phase 2: the live coordinator finishes it from the log', async function () {
      const flaky = await rig.fleet.start('flaky', { failCommitTimes: 5 });
      const t = await rig.begin();
      await rig.applyBoth(t);
      await rig.client.enlist(t.txnId, flaky.ref);
      const answer = rig.tell(t, await rig.client.commit(t.txnId));
      assert.equal(answer.outcome, 'COMMITTED');
      await rig.logDb.restartAfterCrash();
      await eventually(
        async () => (await rig.client.get(t.txnId)).state === 'COMMITTED',
        20_000,
        'COMMITTED in the log',
      );
      assert.ok(flaky.callsOf('Commit', t.txnId).length >= 6);
    });

    it('crash right after a transaction finished (its completion lost): the live coordinator re-reads the log and finishes it again', async function () {
      const t = await rig.begin();
      await rig.applyBoth(t);
      const answer = rig.tell(t, await rig.client.commit(t.txnId, { waitForAcks: true }));
      assert.equal(answer.state, 'COMMITTED');
      await rig.logDb.restartAfterCrash();
      // The completion was not forced: usually the crash took it, and the log
      // says COMMITTING again, with no run left in memory to finish it.
      const after = (await rig.client.get(t.txnId)).state;
      await eventually(
        async () => (await rig.client.get(t.txnId)).state === 'COMMITTED',
        20_000,
        `COMMITTED again (it was ${after} after the crash)`,
      );
    });

    it('crash right after a one-phase commit: the log says COMMITTED, as the client was told', async function () {
      const t = await rig.begin();
      const answer = await rig.finish(t, [rig.debit(rig.a, t), rig.credit(rig.a, t)]);
      assert.equal(answer.outcome, 'COMMITTED');
      await rig.logDb.restartAfterCrash();
      const tx = await rig.client.get(t.txnId);
      assert.equal(tx.state, 'COMMITTED');
      assert.equal(tx.onePhase, true);
    });

    it('crash right after an Abort answer: the abort stands, and a later Commit cannot commit', async function () {
      const t = await rig.begin();
      await rig.applyBoth(t);
      assert.equal(rig.tell(t, await rig.client.abort(t.txnId)).outcome, 'ABORTED');
      await rig.logDb.restartAfterCrash();
      assert.match((await rig.client.get(t.txnId)).state, /^ABORT(ING|ED)$/);
      assert.equal((await rig.client.commit(t.txnId)).outcome, 'ABORTED');
    });
  },
);
