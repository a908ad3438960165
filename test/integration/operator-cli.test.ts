import assert from 'node:assert/strict';
import { txCli } from '../support/tx-cli.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import type { FakeBehaviour, FakeParticipant } from '../support/fake-participant.ts';

describe('operator CLI: twopc tx against a real coordinator', function () {
  this.timeout(30_000);
  let h: Harness;
  const fleet = new FakeFleet();

  const tx = async (...args: string[]): Promise<{ code: number; out: string; err: string }> =>
    txCli([...args, '--address', h.app.address]);

  const fake = (name: string, behaviour: FakeBehaviour = {}): Promise<FakeParticipant> =>
    fleet.start(name, behaviour);

  before(async function () {
    // A long backoff: only `tx retry` can make phase 2 happen soon.
    h = await startCoordinator(await migratedSchema(import.meta.url), {
      stuckAfterMs: 200,
      retryBaseMs: 30_000,
      retryCapMs: 60_000,
      callTimeoutMs: 500,
    });
  });
  after(async function () {
    await fleet.stopAll();
    await h.stop();
  });

  it('lists a stuck transaction, shows its timeline, and retries it now', async function () {
    const down = await fake('down', { failCommitTimes: 1_000_000 });
    const up = await fake('up');
    const { txnId } = await h.client.begin({
      labels: { team: 'ops' },
      participants: [down.ref, up.ref],
    });
    await h.client.commit(txnId);
    await down.waitFor((c) => c.method === 'Commit' && c.txnId === txnId);
    await eventually(async () => (await h.client.get(txnId)).stuck, 5_000, 'stuck');
    // Individual acknowledgements are written within a second (the completion write carries the rest).
    await eventually(
      async () =>
        (await h.client.get(txnId)).participants.find((p) => p.name === 'up')?.acknowledged,
      5_000,
      'ack of up',
    );

    const list = await tx('list', '--stuck');
    assert.equal(list.code, 0, list.err);
    const row = list.out.split('\n').find((l) => l.startsWith(txnId));
    assert.match(row ?? '', /COMMITTING\s+COMMITTED\s+\S+\s+1\/2\s+STUCK/);
    assert.match((await tx('list', '--label', 'team=ops')).out, new RegExp(txnId));
    assert.doesNotMatch((await tx('list', '--label', 'team=dev')).out, new RegExp(txnId));

    const show = await tx('show', txnId);
    assert.equal(show.code, 0);
    assert.match(show.out, /state {4}COMMITTING \(outcome COMMITTED\) {2}STUCK/);
    assert.match(show.out, /timeline\n {2}\+ +0 ms .* begun/);
    assert.match(show.out, /enlisted down \(127\.0\.0\.1:\d+\)/);
    assert.match(show.out, /down voted PREPARED/);
    assert.match(show.out, /decided COMMITTED \(\d+ ms after begin\)/);
    assert.match(show.out, /up acknowledged, \d+ ms after the decision/);
    assert.match(
      show.out,
      /down: 1 attempts failed, last: .*Commit failed \(UNAVAILABLE\); next retry at \S+Z/,
    );

    down.behaviour = {};
    const calls = down.callsOf('Commit', txnId).length;
    const retry = await tx('retry', txnId);
    assert.equal(retry.code, 0, retry.err);
    await eventually(
      async () => (await h.client.get(txnId)).state === 'COMMITTED',
      10_000,
      'commit after retry',
    );
    assert.equal(down.callsOf('Commit', txnId).length, calls + 1);
    assert.match((await tx('show', txnId)).out, /operator RETRY/);
    assert.equal((await tx('retry', txnId)).code, 1, 'a finished transaction has nothing to retry');
  });

  it('resolves a participant that can never answer, but never against the decision', async function () {
    const gone = await fake('gone', { failCommitTimes: 1_000_000 });
    const fine = await fake('fine');
    const { txnId } = await h.client.begin({ participants: [gone.ref, fine.ref] });
    await h.client.commit(txnId);
    const wrong = await tx('resolve', txnId, '--participant', 'gone', '--as', 'aborted');
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.err,
      /would contradict the logged decision COMMITTED \(FAILED_PRECONDITION\)/,
    );
    const right = await tx(
      'resolve',
      txnId,
      '--participant',
      'gone',
      '--as',
      'committed',
      '--note',
      'restored by hand, ticket 42',
    );
    assert.equal(right.code, 0, right.err);
    await eventually(async () => (await h.client.get(txnId)).state === 'COMMITTED');
    const show = (await tx('show', txnId)).out;
    assert.match(show, /operator RESOLVE gone: COMMITTED: restored by hand, ticket 42/);
    assert.match(show, /finished COMMITTED/);
  });

  it('lists heuristic outcomes', async function () {
    const rogue = await fake('rogue', { reportOutcome: 'OUTCOME_ABORTED' });
    const fine = await fake('fine2');
    const { txnId } = await h.client.begin({ participants: [rogue.ref, fine.ref] });
    await h.client.commit(txnId, { waitForAcks: true });
    const list = await tx('list', '--heuristic', '--json');
    const rows = JSON.parse(list.out) as {
      txnId: string;
      heuristic: boolean;
      createdAt: unknown;
    }[];
    assert.ok(rows.some((r) => r.txnId === txnId && r.heuristic));
    // The protobuf JSON mapping: timestamps as RFC 3339 strings.
    const row = rows.find((r) => r.txnId === txnId);
    assert.match(String(row?.createdAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match((await tx('show', txnId)).out, /rogue reported a HEURISTIC outcome: ABORTED/);
  });

  it('aborts from the command line and uses exit codes', async function () {
    const { txnId } = await h.client.begin();
    assert.match(
      (await tx('show', txnId)).out,
      /^ {2}lease {4}\d{4}-/m,
      'an ACTIVE one shows its lease',
    );
    const abort = await tx('abort', txnId, '--reason', 'operator says no');
    assert.doesNotMatch((await tx('show', txnId)).out, /lease/, 'a finished one has no lease');
    assert.equal(abort.code, 0);
    assert.match(abort.out, /ABORTED/);
    assert.equal((await h.client.get(txnId)).reason, 'operator says no');
    assert.equal((await tx('show', '00000000-0000-4000-8000-000000000001')).code, 4);
    assert.equal((await tx('show')).code, 2);
    assert.equal((await tx('list', '--state', 'SLEEPING')).code, 2);
    assert.equal((await tx('frobnicate')).code, 2);
  });

  it('says a bad id or a stray quote is bad usage (exit 2), in one line naming it', async function () {
    const nope = await tx('show', 'nope');
    assert.equal(nope.code, 2, nope.err);
    assert.equal(
      nope.err,
      "twopc: 'nope' is not a transaction id (a UUID, as twopc tx list prints)\n",
    );
    for (const args of [
      ['show', "7c1e2a40-5b1f-4c7e-9d2a-1f0e3b4c5d6e'"],
      ['list', '--participant', "ledger'"],
      [
        'resolve',
        '7c1e2a40-5b1f-4c7e-9d2a-1f0e3b4c5d6e',
        '--participant',
        '"ledger',
        '--as',
        'committed',
      ],
    ]) {
      const res = await tx(...args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.err}`);
      assert.match(res.err, /^twopc: .*holds a quote character; a quote left unbalanced\?/);
      assert.equal(res.err.split('\n').length, 2, res.err);
    }
    // In free text a quote is just a character.
    const { txnId } = await h.client.begin();
    const abort = await tx('abort', txnId, '--reason', "it's the ledger's");
    assert.equal(abort.code, 0, abort.err);
    // An argument the coordinator refuses is bad usage too.
    const refused = await tx('list', '--participant', 'no spaces allowed');
    assert.equal(refused.code, 2, refused.err);
  });
});
