import assert from 'node:assert/strict';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { previousRelease } from '../../tools/release-baseline.ts';
import { TwopcProcess, restartableEnv } from '../support/child.ts';
import { freshSchema, sql } from '../support/db.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import { checkOutPrevious, checkOutRelease } from '../support/rolling-upgrade.ts';

/** Release 0.1.0, which reads only the rows layout of participants. */
const RELEASE_0_1_0 = { version: '0.1.0', commit: '06a612ad7ba0d63f2b2b41e427c0ffd19b292d57' };

// Once this release has migrated the log, it may hold transactions of the
// folded layout (src/store/log-layout.ts): release 0.1.0, which cannot read
// them, refuses to start over it, naming the migration (000011, marked
// breaking by 000012); the previous release, which reads both layouts,
// starts and serves over the same log (a rollback stays possible),
// finishing a folded transaction this release began.
describe('a coordinator too old for the log', function () {
  this.timeout(600_000);
  let old: ReturnType<typeof checkOutRelease>;
  let previous: ReturnType<typeof checkOutPrevious>;
  const procs: TwopcProcess[] = [];
  const fleet = new FakeFleet();

  before(function () {
    old = checkOutRelease(RELEASE_0_1_0);
    previous = checkOutPrevious();
  });
  after(async function () {
    for (const p of procs) {
      p.child.kill('SIGKILL');
    }
    await fleet.stopAll();
    old?.remove();
    previous?.remove();
  });

  it('release 0.1.0 refuses to start over a log this release migrated; the previous release starts and serves', async function () {
    const schema = await freshSchema(import.meta.url);
    const env = await restartableEnv(schema, 'too-old');
    const p = await fleet.start('too-old-p');

    const q = await fleet.start('too-old-q');

    // This release migrates the log and begins a transaction in the folded
    // layout, then dies.
    const current = new TwopcProcess(['serve'], env);
    procs.push(current);
    const first = new TwopcClient(await current.serving(), { attempts: 1 });
    const { txnId: folded } = await first.begin({ participants: [p.ref, q.ref] });
    first.close();
    const [created] = await sql<{ folded: boolean }>(
      schema,
      'SELECT participants IS NOT NULL AS folded FROM twopc_transactions WHERE txn_id = $1',
      [folded],
    );
    assert.equal(created?.folded, true, 'this release created the folded layout');
    await current.kill('SIGKILL');

    const refused = new TwopcProcess(['serve'], env, old.dir);
    procs.push(refused);
    const serves = await refused.serving(60_000).then(
      () => true,
      () => false,
    );
    assert.ok(
      !serves && refused.child.exitCode !== null && refused.child.exitCode !== 0,
      `release 0.1.0 ran over the log:\n${refused.output.slice(-2000)}`,
    );
    assert.match(
      refused.output,
      /breaking migration 11 \(folded_participants\), newer than this code/,
    );
    assert.equal(
      (
        await sql<{ n: number }>(
          schema,
          'SELECT count(*)::integer AS n FROM twopc_coordinators WHERE version IS NULL',
        )
      )[0]?.n,
      0,
      'release 0.1.0 registered on the log',
    );

    const served = new TwopcProcess(['serve'], env, previous.dir);
    procs.push(served);
    const client = new TwopcClient(await served.serving(), { attempts: 1 });
    try {
      // It finishes the folded transaction this release began.
      const answer = await client.commit(folded, { waitForAcks: true });
      assert.equal(answer.outcome, 'COMMITTED');
      for (const x of [p, q]) {
        assert.equal(x.callsOf('Commit', folded).length, 1, `${x.name} told to commit`);
      }
      assert.deepEqual(
        (await client.get(folded)).participants.map((x) => [x.name, x.acknowledged]),
        [
          [p.name, true],
          [q.name, true],
        ],
      );
      const { txnId } = await client.begin({ participants: [p.ref] });
      assert.equal((await client.commit(txnId)).outcome, 'COMMITTED');
      const [row] = await sql<{ version: string | null }>(
        schema,
        'SELECT version FROM twopc_coordinators',
      );
      assert.equal(row?.version, previousRelease().version);
    } finally {
      client.close();
      await served.kill('SIGTERM');
    }
  });
});
