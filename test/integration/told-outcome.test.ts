import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { TxId } from '../../src/core/tx-record.ts';
import { Vote } from 'twopc/internal/contract/tx-state';
import { retryNow } from '../../src/coordinator/operator-actions.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { DecisionGate } from '../support/decision-gate.ts';
import { loggedState, migratedSchema, withClient } from '../support/db.ts';
import { eventually, expectStatus } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';

/** Whether a promise has settled, after everything already queued has run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('Nothing is told before it is durable (DESIGN §3 rule 13)', function () {
  let schema: string;
  let h: Harness;
  const fleet = new FakeFleet();
  const forever = new AbortController().signal;

  before(async function () {
    schema = await migratedSchema(import.meta.url);
  });
  beforeEach(async function () {
    h = await startCoordinator(schema, { heartbeatIntervalMs: 50, heartbeatMisses: 2 });
  });
  afterEach(async function () {
    await fleet.stopAll();
    await h.stop();
  });

  it('answers a Commit only once its decision landed, whatever else of the transaction arrives while the write is in flight', async function () {
    const [a, b] = [await fleet.start('a'), await fleet.start('b')];
    const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
    const gate = await DecisionGate.close(schema, 7301);
    const events: Promise<void>[] = [];
    // The claim waits for the row, so both early Prepares are answered
    // before it lands and the two votes are applied together.
    const { commit } = await withRowLocked(schema, txnId, async () => {
      const started = h.app.coordinator.commit(txnId as TxId, false, forever);
      await a.waitFor((c) => c.method === 'Prepare');
      await b.waitFor((c) => c.method === 'Prepare');
      await new Promise((r) => setTimeout(r, 100)); // their answers travel back
      return { commit: started };
    });
    try {
      await gate.untilWaiting();
      // Both votes arrived together (early Prepares answered before the
      // claim landed): the decision write is in flight.
      assert.equal(await settled(commit), false, 'told before the decision landed');
      const run = h.app.coordinator.runOf(txnId as TxId);
      assert.ok(run, 'a run drives the transaction');
      // Everything else that may happen to the transaction meanwhile: they
      // wait their turn behind the decision write.
      events.push(
        run.safeApply({ type: 'vote:received', name: 'a', vote: Vote.PREPARED, reason: null }),
        run.safeApply({ type: 'prepare:failed', name: 'b', reason: 'no heartbeat: it is DOWN' }),
      );
      a.setServing(false);
      assert.equal(
        (await h.client.get(txnId)).state,
        'PREPARING',
        'a read tells what the log holds',
      );
      await expectStatus(h.client.heartbeat(txnId), grpc.status.FAILED_PRECONDITION);
      await expectStatus(
        h.client.commit(txnId, { timeoutMs: 300 }),
        grpc.status.DEADLINE_EXCEEDED,
        /not durable yet/,
      );
      await assert.rejects(retryNow(h.app.coordinator, txnId as TxId, null), /only a decided/);
      assert.equal(await settled(commit), false, 'told before the decision landed');
      assert.deepEqual(run.tx.state, 'PREPARING', 'the run reads only what the log holds');
      assert.equal(a.callsOf('Commit', txnId).length + b.callsOf('Commit', txnId).length, 0);
      assert.equal(await loggedState(schema, txnId), 'PREPARING');
    } finally {
      await gate.open(schema);
    }
    a.setServing(true);
    await Promise.all(events);
    const told = await commit;
    assert.equal(told.outcome, 'COMMITTED');
    assert.match(String(await loggedState(schema, txnId)), /^COMMITT(ING|ED)$/);
  });

  it("the tester's sequence: a NUL in one vote's reason, its participant NOT_SERVING after voting, the row locked around the Commit: the client is told what the log ends with", async function () {
    // The participant goes NOT_SERVING the moment its Prepare arrives, so on
    // a loaded machine its vote can lose the race against its health checks
    // and the transaction aborts for that, rightly. Such a run is made again;
    // an abort for the vote's reason itself never is.
    const aborts: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const run = await testersSequence(schema, h, fleet);
      h = run.h;
      assert.equal(run.told, run.final, 'the client is told what the log ends with');
      if (run.final === 'COMMITTED') {
        assert.equal(run.vote, 'VOTE_PREPARED');
        return;
      }
      assert.doesNotMatch(
        run.reason,
        /LOG_REFUSED_DATA|refused/i,
        'a participant reason the log cannot hold blocks nothing',
      );
      aborts.push(run.reason);
      console.log(`      (attempt ${attempt} aborted, not for the vote's reason: ${run.reason})`);
      await fleet.stopAll();
    }
    assert.fail(`every attempt aborted: ${aborts.join(' | ')}`);
  });
});

/** One run of the tester's sequence; returns the coordinator now serving. */
async function testersSequence(
  schema: string,
  h: Harness,
  fleet: FakeFleet,
): Promise<{ h: Harness; told: string; final: string; reason: string; vote: string | undefined }> {
  const a = await fleet.start('a', { prepareReason: 'ok\u0000' });
  const b = await fleet.start('b');
  const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
  a.once('call', () => a.setServing(false));
  const told = await withRowLocked(schema, txnId, async () => {
    const answer = h.client.commit(txnId, { timeoutMs: 5_000 }).then(
      (r) => r.outcome,
      (e: grpc.ServiceError) => `error ${grpc.status[e.code]}`,
    );
    await new Promise((r) => setTimeout(r, 1_500)); // the log is slow, as under load
    return { answer };
  }).then((x) => x.answer);
  // The coordinator that answered stops; another one finishes the work.
  await h.stop();
  const other = await startCoordinator(schema, { coordinatorName: 'other' });
  const final = await eventually(async () => {
    const s = await loggedState(schema, txnId);
    return s === 'COMMITTED' || s === 'ABORTED' ? s : null;
  });
  const view = await other.client.get(txnId);
  const vote = view.participants.find((p) => p.name === 'a')?.vote;
  return { h: other, told, final, reason: view.reason, vote };
}

/** Runs `work` while a connection of the test holds the transaction's row locked. */
async function withRowLocked<T>(schema: string, txnId: string, work: () => Promise<T>): Promise<T> {
  return withClient(async (c) => {
    await c.query(`SET search_path TO ${schema}`);
    await c.query('BEGIN');
    await c.query('SELECT 1 FROM twopc_transactions WHERE txn_id = $1 FOR UPDATE', [txnId]);
    try {
      return await work();
    } finally {
      await c.query('COMMIT');
    }
  });
}
