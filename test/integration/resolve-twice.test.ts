import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TwopcOperator } from 'twopc/internal/twopc-operator';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';

/** The audit lines of ResolveParticipant calls in a file: their results. */
function resolveResults(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { method: string; result: string })
    .filter((l) => l.method === 'Operator.ResolveParticipant')
    .map((l) => l.result);
}

describe('resolving one participant twice at once: the second is refused', function () {
  this.timeout(60_000);
  const fleet = new FakeFleet();
  const coordinators: Harness[] = [];
  const operators: TwopcOperator[] = [];
  let dir: string;
  const audit = (i: number): string => join(dir, `audit-${i}.log`);

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'twopc-resolve-'));
    // Two coordinators on one log, each with its own audit file; phase 2
    // retried rarely, so only a resolution acknowledges the silent participant.
    const schema = await migratedSchema(import.meta.url);
    for (const i of [0, 1]) {
      const h = await startCoordinator(schema, {
        retryBaseMs: 30_000,
        retryCapMs: 60_000,
        // Calls wait as long as a busy machine needs: a Prepare or a health
        // check timed out would abort the transaction the test needs committed.
        callTimeoutMs: 5_000,
        auditLog: audit(i),
      });
      coordinators.push(h);
      operators.push(new TwopcOperator(h.app.address, { attempts: 1 }));
    }
  });
  after(async function () {
    operators.forEach((o) => o.close());
    await fleet.stopAll();
    for (const h of coordinators) {
      await h.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** A committed transaction whose participant `silent` never acknowledges. */
  let made = 0;
  async function owedCommit(): Promise<{ txnId: string; silent: string }> {
    made++;
    const silent = await fleet.start(`silent-${made}`, { failCommitTimes: 1e9 });
    const other = await fleet.start(`other-${made}`);
    const h = coordinators[0]!;
    // The fixture is a committed transaction. In two clean-clone CI runs the
    // first Commit of this file was answered ABORTED (never reproduced alone
    // or after the suite's earlier files); the reason is printed and the
    // fixture made again, up to three times, so that the resolution checks
    // below always run on a committed transaction.
    let txnId = '';
    for (let attempt = 1; ; attempt++) {
      ({ txnId } = await h.client.begin({ participants: [silent.ref, other.ref] }));
      const answer = await h.client.commit(txnId);
      if (answer.outcome === 'COMMITTED') {
        break;
      }
      console.error(`resolve-twice fixture: Commit answered ${answer.outcome}: ${answer.reason}`);
      assert.ok(attempt < 3, `the fixture's Commit kept aborting: ${answer.reason}`);
    }
    await silent.waitFor((c) => c.method === 'Commit' && c.txnId === txnId);
    return { txnId, silent: silent.name };
  }

  for (const [title, via] of [
    ['through one coordinator', [0, 0]],
    ['through two coordinators', [0, 1]],
  ] as const) {
    it(`${title}: one resolution recorded, one refused, one audit line each`, async function () {
      const before = [0, 1].map((i) => {
        try {
          return resolveResults(audit(i)).length;
        } catch {
          return 0;
        }
      });
      const { txnId, silent } = await owedCommit();
      const results = await Promise.allSettled(
        via.map((i, n) =>
          operators[i]!.resolveParticipant(txnId, silent, 'COMMITTED', `by hand ${n}`),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.status).sort(),
        ['fulfilled', 'rejected'],
        JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))),
      );
      const refused = results.find((r) => r.status === 'rejected');
      assert.match(
        String(refused?.reason),
        /FAILED_PRECONDITION.*(already acknowledged|resolved or acknowledged meanwhile)/,
      );
      const tx = await coordinators[1]!.client.get(txnId);
      assert.equal(
        tx.operatorActions.filter((a) => a.action === 'RESOLVE').length,
        1,
        JSON.stringify(tx.operatorActions),
      );
      await eventually(
        async () => (await coordinators[0]!.client.get(txnId)).state === 'COMMITTED',
        10_000,
        'the transaction finishes once its silent participant is resolved',
      );
      const lines = [0, 1].flatMap((i) => resolveResults(audit(i)).slice(before[i]));
      assert.deepEqual(lines.sort(), ['OK', 'TWOPC_INVALID_TRANSITION']);
    });
  }

  it('in doubt, two operators giving different outcomes through two coordinators: the first decides, the second is refused', async function () {
    made++;
    const solo = await fleet.start(`solo-${made}`, { failCommitTimes: 1e9 });
    const h = coordinators[0]!;
    const { txnId } = await h.client.begin({ participants: [solo.ref] });
    // Its Commit arrives and is never answered, then it is gone: in doubt.
    void h.client.commit(txnId).catch(() => undefined);
    await solo.waitFor((c) => c.method === 'Commit' && c.txnId === txnId);
    await solo.stop();
    await eventually(
      async () => (await h.client.get(txnId)).state === 'IN_DOUBT',
      20_000,
      'in doubt',
    );
    const outcomes = ['COMMITTED', 'ABORTED'] as const;
    const results = await Promise.allSettled(
      outcomes.map((as, i) => operators[i]!.resolveParticipant(txnId, solo.name, as, 'looked')),
    );
    assert.deepEqual(
      results.map((r) => r.status).sort(),
      ['fulfilled', 'rejected'],
      JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))),
    );
    const winner = outcomes[results.findIndex((r) => r.status === 'fulfilled')]!;
    const tx = await coordinators[1]!.client.get(txnId);
    assert.equal(tx.state, winner);
    const resolved = tx.operatorActions.filter((a) => a.action === 'RESOLVE');
    assert.equal(resolved.length, 1, JSON.stringify(tx.operatorActions));
    assert.match(resolved[0]!.detail, new RegExp(`^${winner} \\(in doubt`));
  });
});
