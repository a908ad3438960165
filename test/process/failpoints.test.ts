import assert from 'node:assert/strict';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { TwopcProcess, restartableEnv } from '../support/child.ts';
import { loggedState, migratedSchema, sql } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import type { FakeParticipant } from '../support/fake-participant.ts';

/**
 * Every failpoint armed with `kill`, on a transaction with 3 participants:
 * the coordinator dies there, restarts, and the invariants must hold.
 */
const CASES: { point: string; decided: boolean; vote?: 'ABORT' }[] = [
  { point: 'after_begin_logged', decided: false },
  { point: 'after_prepare_sent:2', decided: false },
  { point: 'after_votes_before_decision', decided: false },
  { point: 'during_decision_write', decided: true },
  { point: 'after_decision_logged', decided: true },
  { point: 'after_commit_sent:1', decided: true },
  { point: 'after_commit_sent:3', decided: true },
  { point: 'after_abort_sent:1', decided: false, vote: 'ABORT' },
  { point: 'before_completion_logged', decided: true },
];

describe('failpoints: SIGKILL at every named point, then restart', function () {
  this.timeout(120_000);
  let schema: string;
  let env: Record<string, string>;
  let proc: TwopcProcess | null = null;
  const fleet = new FakeFleet();

  beforeEach(async function () {
    schema = await migratedSchema(import.meta.url, this.currentTest?.title ?? '');
    env = await restartableEnv(schema, 'failpoint-test', {
      TWOPC_SWEEP_INTERVAL_MS: '100',
      TWOPC_RECOVERY_INTERVAL_MS: '300',
    });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      const last = proc?.output ?? '';
      console.log([...history, last].join('\n--- restart ---\n').slice(-8000));
    }
    history.length = 0;
    await proc?.kill('SIGKILL');
    proc = null;
    await fleet.stopAll();
  });

  /** Output of every coordinator process of the running test, for a failure's report. */
  const history: string[] = [];

  async function serve(extra: Record<string, string> = {}): Promise<TwopcClient> {
    proc = new TwopcProcess(['serve'], { ...env, ...extra });
    const started = proc;
    void started.exited.then(() => history.push(started.output));
    return new TwopcClient(await proc.serving(), { attempts: 1 });
  }

  /** The invariants of DESIGN §6, checked on the participants' own records. */
  function assertConsistent(txnId: string, outcome: string, ps: FakeParticipant[]): void {
    for (const p of ps) {
      const commits = p.callsOf('Commit', txnId).length;
      const aborts = p.callsOf('Abort', txnId).length;
      assert.ok(!(commits > 0 && aborts > 0), `${p.name} was told both outcomes`);
      const prepared = p.callsOf('Prepare', txnId).length > 0 && p.behaviour.vote !== 'ABORT';
      if (outcome === 'COMMITTED') {
        assert.ok(commits > 0, `${p.name} never got Commit`);
      } else if (prepared) {
        assert.ok(aborts > 0, `${p.name} was left prepared`);
      }
    }
  }

  for (const c of CASES.flatMap((x) => [
    { ...x, batched: false },
    { ...x, batched: true },
  ])) {
    it(`${c.point}=kill, ${c.batched ? 'batched' : 'unary'} participants: ${c.decided ? 'commits' : 'aborts'} everywhere after the restart`, async function () {
      const ps = await Promise.all(
        ['a', 'b', 'c'].map((n, i) =>
          fleet.start(n, i === 2 && c.vote ? { vote: c.vote } : {}, undefined, c.batched),
        ),
      );
      const client = await serve({ TWOPC_FAILPOINTS: `${c.point}=kill` });
      assert.match(proc?.output ?? '', /FAILPOINTS ARMED/);
      let told: string | null = null;
      let txnId = '';
      try {
        txnId = (await client.begin({ timeoutMs: 1_500, participants: ps.map((p) => p.ref) }))
          .txnId;
        told = (await client.commit(txnId)).outcome;
      } catch {
        // the coordinator died before answering
      }
      const exit = await proc?.exited;
      assert.equal(exit?.signal, 'SIGKILL', `the failpoint did not fire:\n${proc?.output}`);
      client.close();
      if (txnId === '') {
        const [row] = await sql<{ txn_id: string }>(
          schema,
          'SELECT txn_id FROM twopc_transactions',
        );
        txnId = row?.txn_id ?? '';
      }
      const atKill = await loggedState(schema, txnId);
      const decidedAtKill = atKill === 'COMMITTING' || atKill === 'COMMITTED';

      const again = await serve();
      const tx = await eventually(
        async () => {
          const t = await again.get(txnId);
          return t.state === 'COMMITTED' || t.state === 'ABORTED' ? t : null;
        },
        30_000,
        'a final state',
      );
      const outcome = tx.state;
      assert.equal(
        outcome === 'COMMITTED',
        decidedAtKill,
        `logged ${atKill} at the kill, ended ${outcome}`,
      );
      if (c.point !== 'during_decision_write') {
        assert.equal(outcome === 'COMMITTED', c.decided);
      }
      if (told !== null) {
        assert.equal(outcome, told, 'the client was told another outcome');
      }
      assertConsistent(txnId, outcome, ps);
      const transports = new Set(ps.flatMap((p) => p.calls.map((x) => x.transport)));
      assert.deepEqual([...transports], [c.batched ? 'batched' : 'unary']);
      const repeat = await again.commit(txnId);
      assert.equal(repeat.outcome, outcome);
      again.close();
    });
  }

  it('converges when killed again inside the recovery loop', async function () {
    const ps = await Promise.all(
      ['a', 'b', 'c'].map((n, i) => fleet.start(n, i === 0 ? { failCommitTimes: 1_000_000 } : {})),
    );
    const client = await serve({ TWOPC_FAILPOINTS: 'after_commit_sent:1=kill' });
    const { txnId } = await client.begin({ participants: ps.map((p) => p.ref) });
    await client.commit(txnId).catch(() => undefined);
    await proc?.exited;
    client.close();
    assert.equal(await loggedState(schema, txnId), 'COMMITTING');
    // The failpoint may fire before the process says it is serving (the
    // first recovery scan starts with it): wait for the kill, not the line.
    proc = new TwopcProcess(['serve'], { ...env, TWOPC_FAILPOINTS: 'in_recovery_loop=kill' });
    assert.equal((await proc.exited).signal, 'SIGKILL', proc.output);
    (ps[0] as FakeParticipant).behaviour = {};
    const third = await serve();
    await eventually(
      async () => (await third.get(txnId)).state === 'COMMITTED',
      30_000,
      'commit after two kills',
    );
    assertConsistent(txnId, 'COMMITTED', ps);
    third.close();
  });
});
