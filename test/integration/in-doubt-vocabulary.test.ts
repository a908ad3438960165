import assert from 'node:assert/strict';
import { txCli } from '../support/tx-cli.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';

// One word for one thing: IN_DOUBT is a one-phase transaction whose Commit
// reached its participant and whose answer never came (only the participant
// knows the outcome). The API, the CLI (as a column and as a filter) and the
// twopc_transactions_backlog{kind="in_doubt"} gauge all say so; a
// transaction PREPARING (the coordinator decides it) is none of these.

describe('IN_DOUBT: the same word in the API, the CLI and the metrics', function () {
  this.timeout(60_000);
  let h: Harness;
  const fleet = new FakeFleet();
  let inDoubt = '';
  let preparing = '';

  const tx = (...args: string[]): Promise<{ code: number; out: string; err: string }> =>
    txCli([...args, '--address', h.app.address]);
  const listed = async (...args: string[]): Promise<string[]> =>
    (await tx('list', ...args)).out
      .split('\n')
      .slice(1)
      .filter((l) => l.trim() !== '');

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url), {
      stuckAfterMs: 200,
      prepareTimeoutMs: 60_000,
      heartbeatIntervalMs: 150,
      recoveryIntervalMs: 200,
    });
    // Its one-phase Commit arrives and is never answered; then it goes away.
    const silent = await fleet.start('silent', { hangCommit: true });
    inDoubt = (await h.client.begin({ participants: [silent.ref] })).txnId;
    void h.client.commit(inDoubt).catch(() => undefined);
    await silent.waitFor((c) => c.method === 'Commit' && c.txnId === inDoubt);
    await silent.stop();
    // PREPARING: a voter that never answers (the prepare timeout is far away).
    const hang = await fleet.start('hang', { vote: 'hang' });
    const other = await fleet.start('other');
    preparing = (await h.client.begin({ participants: [hang.ref, other.ref] })).txnId;
    void h.client.commit(preparing).catch(() => undefined);
    await hang.waitFor((c) => c.method === 'Prepare' && c.txnId === preparing);
    await eventually(
      async () => (await h.client.get(inDoubt)).state === 'IN_DOUBT',
      20_000,
      'IN_DOUBT',
    );
  });
  after(async function () {
    await fleet.stopAll();
    await h?.stop();
  });

  it('the API shows and filters IN_DOUBT, apart from ABORTING and PREPARING', async function () {
    const view = await h.client.get(inDoubt);
    assert.equal(view.state, 'IN_DOUBT');
    assert.equal(view.outcome, 'OUTCOME_PENDING');
    assert.equal((await h.client.get(preparing)).state, 'PREPARING');
    const ids = async (states: ('IN_DOUBT' | 'ABORTING' | 'PREPARING')[]): Promise<string[]> =>
      (await h.client.list({ states })).transactions.map((t) => t.txnId);
    assert.deepEqual(await ids(['IN_DOUBT']), [inDoubt]);
    assert.deepEqual(await ids(['ABORTING']), []);
    assert.deepEqual(await ids(['PREPARING']), [preparing]);
    assert.deepEqual((await ids(['IN_DOUBT', 'PREPARING'])).sort(), [inDoubt, preparing].sort());
  });

  it('the CLI prints IN_DOUBT, takes it as a filter (as every state it prints), and retry answers it', async function () {
    const rows = await listed();
    const printed = new Map(rows.map((r) => [r.split(/\s+/)[0], r.split(/\s+/)[1]]));
    assert.equal(printed.get(inDoubt), 'IN_DOUBT');
    assert.equal(printed.get(preparing), 'PREPARING');
    for (const state of new Set(printed.values())) {
      const res = await tx('list', '--state', String(state));
      assert.equal(res.code, 0, `--state ${state}: ${res.err}`);
    }
    const only = await listed('--state', 'IN_DOUBT');
    assert.deepEqual(
      only.map((r) => r.split(/\s+/)[0]),
      [inDoubt],
    );
    assert.deepEqual(await listed('--state', 'ABORTING'), []);
    const json = JSON.parse((await tx('show', inDoubt, '--json')).out) as { state: string };
    assert.equal(
      json.state,
      'TRANSACTION_STATE_IN_DOUBT',
      'the proto JSON name, as the API says it',
    );
    const retry = await tx('retry', inDoubt);
    assert.equal(retry.code, 0, retry.err);
    assert.match(retry.out, new RegExp(`phase 2 re-sent now for ${inDoubt} \\(IN_DOUBT\\)`));
    const abort = await tx('abort', inDoubt);
    assert.match(abort.err, new RegExp(`transaction ${inDoubt} is IN_DOUBT: in doubt`));
  });

  it('twopc_transactions_backlog{kind="in_doubt"} counts IN_DOUBT, not PREPARING', async function () {
    const gauge = async (): Promise<number> => {
      const text = await (await fetch(`http://${h.app.metricsAddress}/metrics`)).text();
      const m = /^twopc_transactions_backlog\{[^}]*kind="in_doubt"[^}]*\} (\d+)/m.exec(text);
      return Number(m?.[1] ?? 'NaN');
    };
    await eventually(async () => (await gauge()) === 1, 10_000, 'the gauge counts it');
    assert.equal((await h.client.get(preparing)).state, 'PREPARING', 'still PREPARING');
    const text = await (await fetch(`http://${h.app.metricsAddress}/metrics`)).text();
    assert.match(text, /# HELP twopc_transactions_backlog .*IN_DOUBT/);
  });
});
