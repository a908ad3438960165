import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { eventually, expectStatus } from '../support/expect-status.ts';
import { describeStoreFaults } from '../support/store-fault-rig.ts';

/**
 * The log's own PostgreSQL is down, slow, out of connection slots or
 * read-only under a live coordinator: it fails closed and recovers.
 * Participants are banks (PostgreSQL databases through PgParticipant, in
 * processes of their own); after each case every fault heals and the bank
 * test's invariants are checked with the coordinator that lived through it.
 */
describeStoreFaults(
  'store faults: the log PostgreSQL is down, slow, full or read-only',
  'store-refusals',
  (rig) => {
    it('PostgreSQL down before Begin: UNAVAILABLE, nothing sent to anyone, then work resumes', async function () {
      const watcher = await rig.fleet.start('watcher');
      const once = new TwopcClient(rig.address, { attempts: 1 });
      await rig.logDb.crash();
      try {
        await expectStatus(
          once.begin({ participants: [watcher.ref] }),
          grpc.status.UNAVAILABLE,
          /transaction log is unreachable/,
        );
      } finally {
        await rig.logDb.start();
      }
      assert.equal(watcher.calls.length, 0);
      const t = await rig.begin();
      const answer = await rig.finish(t, [rig.debit(rig.a, t), rig.credit(rig.b, t)]);
      assert.equal(answer.outcome, 'COMMITTED');
      once.close();
    });

    it('PostgreSQL slow (statements waiting for seconds): new work is refused at once with a retry hint, nothing queues without bound, and everything finishes once it recovers', async function () {
      const once = new TwopcClient(rig.address, { attempts: 1, callTimeoutMs: 20_000 });
      const t = await rig.begin();
      await rig.applyBoth(t);
      // Every statement on the transaction table now waits on this lock.
      const holder = new pg.Client({ connectionString: rig.logDb.url() });
      holder.on('error', () => undefined);
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE twopc.twopc_transactions IN ACCESS EXCLUSIVE MODE');
      let released = false;
      try {
        const committing = rig.client.commit(t.txnId);
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
        const metrics = await rig.scrape();
        const pending = Number(/^twopc_store_pending_operations\S* (\d+)/m.exec(metrics)?.[1]);
        assert.ok(pending <= 50, `${pending} operations wait on the log`);
        // Stalled past the threshold: even a single new call is refused now.
        await new Promise((r) => setTimeout(r, 1_200));
        await expectStatus(once.begin(), grpc.status.RESOURCE_EXHAUSTED);
        await holder.query('ROLLBACK');
        released = true;
        const answers = await Promise.all(flood);
        assert.ok(answers.filter((x) => x === 'ok').length <= 50);
        assert.equal(rig.tell(t, await committing).outcome, 'COMMITTED');
        const after = await rig.begin();
        assert.equal(
          (await rig.finish(after, [rig.debit(rig.a, after), rig.credit(rig.b, after)])).outcome,
          'COMMITTED',
        );
      } finally {
        if (!released) {
          await holder.query('ROLLBACK').catch(() => undefined);
        }
        await holder.end();
        once.close();
      }
    });

    it('connection slots exhausted by others: fails closed (UNAVAILABLE), recovers once they are freed', async function () {
      const once = new TwopcClient(rig.address, { attempts: 1 });
      const hogs: pg.Client[] = [];
      try {
        await rig.occupyEverySlot(hogs);
        await expectStatus(once.begin(), grpc.status.UNAVAILABLE);
      } finally {
        await Promise.all(hogs.map((c) => c.end()));
      }
      const t = await rig.begin();
      assert.equal(
        (await rig.finish(t, [rig.debit(rig.a, t), rig.credit(rig.b, t)])).outcome,
        'COMMITTED',
      );
      once.close();
    });

    it('database turned read-only: Begin fails closed, a decision waits, and both recover when it clears', async function () {
      const once = new TwopcClient(rig.address, { attempts: 1 });
      const { t, slow, committing } = await rig.commitWhilePreparing('slow-ro', 800);
      await rig.logDb.set('default_transaction_read_only', 'on');
      await expectStatus(once.begin(), grpc.status.UNAVAILABLE);
      // The votes arrive while the log refuses writes: the decision waits.
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal(
        slow.callsOf('Commit', t.txnId).length + slow.callsOf('Abort', t.txnId).length,
        0,
      );
      await rig.logDb.set('default_transaction_read_only', null);
      assert.equal(rig.tell(t, await committing).outcome, 'COMMITTED');
      once.close();
    });
  },
);
