import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { txCli } from '../support/tx-cli.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';

// DESIGN §3 rule 15: a one-phase Commit whose only participant is gone
// leaves the coordinator not knowing the outcome. It is shown as in doubt,
// keeps asking, refuses an abort with the way out, and an operator who has
// read the participant's own state resolves it; the stuck count clears.

describe('in doubt: a one-phase participant gone after the Commit left', function () {
  this.timeout(60_000);
  let h: Harness;
  const fleet = new FakeFleet();

  const tx = async (...args: string[]): Promise<{ code: number; out: string; err: string }> =>
    txCli([...args, '--address', h.app.address]);

  async function stuckGauge(): Promise<number> {
    const text = await (await fetch(`http://${h.app.metricsAddress}/metrics`)).text();
    const m = /^twopc_transactions_backlog\{[^}]*kind="stuck"[^}]*\} (\d+)/m.exec(text);
    return Number(m?.[1] ?? 'NaN');
  }

  /**
   * A one-phase transaction whose participant received the Commit, failed
   * to answer it, then exited: the Commit may have landed (a Commit that
   * never reached it is no doubt: see unreached-participants.test.ts).
   */
  async function inDoubt(name: string): Promise<string> {
    const solo = await fleet.start(name, { failCommitTimes: 1e9 });
    const { txnId } = await h.client.begin({ participants: [solo.ref] });
    // Its answer never comes (in doubt): the call is left to its deadline.
    void h.client.commit(txnId).catch(() => undefined);
    await solo.waitFor((c) => c.method === 'Commit' && c.txnId === txnId);
    await solo.stop();
    await eventually(
      async () => {
        const v = await h.client.get(txnId);
        return v.state === 'IN_DOUBT' && v.stuck;
      },
      20_000,
      'in doubt and stuck',
    );
    return txnId;
  }

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url), {
      stuckAfterMs: 200,
      prepareTimeoutMs: 500,
      callTimeoutMs: 300,
      heartbeatIntervalMs: 150,
    });
  });
  after(async function () {
    await fleet.stopAll();
    await h.stop();
  });

  it('is shown as in doubt, says the way out, and an abort is refused with it', async function () {
    const txnId = await inDoubt('gone');
    const row = (await tx('list')).out.split('\n').find((l) => l.startsWith(txnId));
    assert.match(row ?? '', /IN_DOUBT\s+UNKNOWN\s+\S+\s+0\/1\s+STUCK/);
    const show = await tx('show', txnId);
    assert.match(show.out, /IN_DOUBT: the one-phase Commit to 'gone' got no answer/);
    assert.match(
      show.out,
      new RegExp(`twopc tx resolve ${txnId} --participant gone --as committed\\|aborted`),
    );
    const abort = await tx('abort', txnId);
    assert.notEqual(abort.code, 0);
    assert.match(abort.err, /in doubt: .*only 'gone' knows.*twopc tx resolve/);
    assert.match(abort.err, /FAILED_PRECONDITION/);
    // A client's Abort gets the same answer at once (it used to wait out its deadline).
    await assert.rejects(h.client.abort(txnId, 'give up'), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
      assert.match(err.details, /in doubt: the one-phase Commit to 'gone' may have landed/);
      return true;
    });
  });

  for (const as of ['committed', 'aborted'] as const) {
    it(`an operator resolves it as ${as} with the participant's word: audited, final, the stuck count clears`, async function () {
      const txnId = await inDoubt(`gone-${as}`);
      // The gauge is refreshed in the background: wait until it counts
      // every stuck transaction the log lists, this one included.
      const stuckBefore = (await h.client.list({ stuckOnly: true })).transactions.length;
      await eventually(async () => (await stuckGauge()) === stuckBefore, 10_000, 'gauge counts it');
      const res = await tx(
        'resolve',
        txnId,
        '--participant',
        `gone-${as}`,
        '--as',
        as,
        '--note',
        `its database says ${as}`,
      );
      assert.equal(res.code, 0, res.err);
      const view = await h.client.get(txnId);
      assert.equal(view.state, as.toUpperCase());
      assert.equal(view.outcome, `OUTCOME_${as.toUpperCase()}`);
      assert.equal(view.stuck, false);
      const show = await tx('show', txnId);
      assert.match(
        show.out,
        new RegExp(
          `RESOLVE gone-${as}: ${as.toUpperCase()} \\(in doubt: the participant’s outcome\\): its database says ${as}`,
          'i',
        ),
      );
      await eventually(
        async () => (await stuckGauge()) === stuckBefore - 1,
        10_000,
        'one stuck fewer',
      );
    });
  }

  it('keeps asking: the participant back at its address is asked, and its answer ends it', async function () {
    const solo = await fleet.start('back', { failCommitTimes: 1e9 });
    const { txnId } = await h.client.begin({ participants: [solo.ref] });
    // Its answer never comes (in doubt): the call is left to its deadline.
    void h.client.commit(txnId).catch(() => undefined);
    await solo.waitFor((c) => c.method === 'Commit' && c.txnId === txnId);
    await solo.stop();
    await eventually(
      async () => (await h.client.get(txnId)).state === 'IN_DOUBT',
      20_000,
      'in doubt',
    );
    await solo.start(); // the same port: it answers heartbeats again
    await solo.waitFor((c) => c.method === 'Abort' && c.txnId === txnId);
    await eventually(
      async () => (await h.client.get(txnId)).state === 'ABORTED',
      20_000,
      'ABORTED',
    );
  });

  it('refuses a resolution that gives no outcome', async function () {
    const txnId = await inDoubt('gone-pending');
    const res = await tx('resolve', txnId, '--participant', 'gone-pending', '--as', 'pending');
    assert.notEqual(res.code, 0);
  });
});
