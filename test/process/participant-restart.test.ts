import assert from 'node:assert/strict';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { ParticipantChild } from '../support/participant-child.ts';

// DESIGN §3 rule 16 with real processes: a participant SIGKILLed while
// phase 2 is owed to it is marked DOWN; restarted at its address, its first
// transactions commit (the endpoint is checked at once, not failed unsent
// on the strength of heartbeats missed while it was away). One that is
// still away is told apart: "marked DOWN, not sent", never "did not answer".
// The heartbeat interval is long on purpose: the next scheduled check comes
// well after the restart, so only a check made at once can see it back.
const INTERVAL_MS = 4_000;

describe('a participant killed and restarted at its address (real processes)', function () {
  this.timeout(60_000);
  let h: Harness;
  const children: ParticipantChild[] = [];

  async function child(name: string, failCommits = false): Promise<ParticipantChild> {
    const c = new ParticipantChild(name);
    children.push(c);
    return c.start(failCommits ? { failCommitTimes: 1e9 } : {}, { batched: true });
  }

  async function upGauge(endpoint: string): Promise<number | null> {
    const text = await (await fetch(`http://${h.app.metricsAddress}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('twopc_participant_up{') && l.includes(`"${endpoint}"`));
    return line === undefined ? null : Number(line.split(' ').pop());
  }

  /** A participant owed phase 2, SIGKILLed, and marked DOWN by the coordinator. */
  async function killedWhileOwed(): Promise<{ p: ParticipantChild; port: number }> {
    const other = await child('other');
    const p = await child('inventory', true);
    const owed = await h.client.begin({ participants: [other.ref, p.ref] });
    assert.equal((await h.client.commit(owed.txnId)).outcome, 'COMMITTED');
    await eventually(async () => p.callsOf('Commit', owed.txnId).length > 0);
    await p.stop(); // SIGKILL, with the Commit still owed to it
    await eventually(async () => (await upGauge(p.endpoint)) === 0, 20_000, 'marked DOWN');
    return { p, port: Number(p.endpoint.split(':')[1]) };
  }

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url), {
      heartbeatIntervalMs: INTERVAL_MS,
      heartbeatMisses: 1,
      prepareTimeoutMs: 10_000,
      callTimeoutMs: 1_000,
    });
  });
  after(async function () {
    await h.stop();
  });
  afterEach(async function () {
    await Promise.all(children.splice(0).map((c) => c.stop()));
  });

  it('commits its first transactions, one-phase and two-phase, once it serves again', async function () {
    const { p, port } = await killedWhileOwed();
    const other = await child('other-2');
    await p.start({}, { port, batched: true }); // back, at the same address
    const [solo, pair] = await Promise.all([
      h.client.begin({ participants: [p.ref] }),
      h.client.begin({ participants: [p.ref, other.ref] }),
    ]);
    const [soloAnswer, pairAnswer] = await Promise.all([
      h.client.commit(solo.txnId),
      h.client.commit(pair.txnId),
    ]);
    assert.equal(soloAnswer.outcome, 'COMMITTED', soloAnswer.reason);
    assert.equal(pairAnswer.outcome, 'COMMITTED', pairAnswer.reason);
    assert.equal(await upGauge(p.endpoint), 1, 'seen up again by the check made at once');
  });

  it('says "marked DOWN, not sent" of one still away, and aborts its one-phase transaction at once', async function () {
    const { p } = await killedWhileOwed();
    const { txnId } = await h.client.begin({ participants: [p.ref] });
    const answer = await h.client.commit(txnId);
    assert.equal(answer.outcome, 'ABORTED');
    assert.match(answer.reason, /'inventory'.*not sent: it is marked DOWN/);
    assert.doesNotMatch(answer.reason, /did not answer/);
    assert.equal((await h.client.get(txnId)).state, 'ABORTED', 'not in doubt');
  });
});
