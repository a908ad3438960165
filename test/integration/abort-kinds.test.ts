import assert from 'node:assert/strict';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';

// twopc_transactions_finished{reason}: what decided the abort, never a
// guess from a client's words.

describe('abort kinds in the metrics', function () {
  this.timeout(30_000);
  let h: Harness;
  const fleet = new FakeFleet();

  async function finished(reason: string): Promise<number> {
    const text = await (await fetch(`http://${h.app.metricsAddress}/metrics`)).text();
    const m = new RegExp(
      `^twopc_transactions_finished_total\\{outcome="ABORTED",reason="${reason}"[^}]*\\} (\\d+)`,
      'm',
    ).exec(text);
    return Number(m?.[1] ?? 'NaN');
  }

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url));
  });
  after(async function () {
    await fleet.stopAll();
    await h.stop();
  });

  it("counts a client's abort as CLIENT_ABORT whatever its reason says, and a participant's ABORT vote as VOTE_ABORT", async function () {
    const client0 = await finished('CLIENT_ABORT');
    const vote0 = await finished('VOTE_ABORT');
    const ok = await fleet.start('ok');
    const { txnId } = await h.client.begin({ participants: [ok.ref] });
    await h.client.abort(txnId, 'voted ABORT by client');
    const no = await fleet.start('no', { vote: 'ABORT' });
    const other = await fleet.start('other');
    const second = await h.client.begin({ participants: [no.ref, other.ref] });
    // Commit's answer is typed as what it can be: a durable decision.
    const told: 'COMMITTED' | 'ABORTED' = (await h.client.commit(second.txnId)).outcome;
    assert.equal(told, 'ABORTED');
    await eventually(
      async () => (await finished('CLIENT_ABORT')) === client0 + 1,
      10_000,
      'client',
    );
    await eventually(async () => (await finished('VOTE_ABORT')) === vote0 + 1, 10_000, 'vote');
  });
});
