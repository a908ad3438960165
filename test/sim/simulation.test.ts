import assert from 'node:assert/strict';
import { runSeed } from './sim-world.ts';
import type { SimResult } from './sim-world.ts';
import { SimStats } from './sim-stats.ts';
import { FAULT_FREE_COMMIT_FLOOR } from './sim-floors.ts';

/** How many seeds `npm test` runs (TWOPC_SIM_SEEDS to change it; `npm run sim` for long runs). */
const BUDGET = Number(process.env.TWOPC_SIM_SEEDS ?? 2_500);

function explain(r: SimResult): string {
  return [
    ...r.trace,
    `seed ${r.seed} broke the invariants:`,
    ...r.violations.map((v) => `  - ${v}`),
    `replay: npm run sim -- --seed ${r.seed}`,
  ].join('\n');
}

describe('deterministic simulation (seeded interleavings of the real coordinator)', function () {
  it('replays a seed exactly', async function () {
    const [a, b] = [await runSeed(42), await runSeed(42)];
    assert.deepEqual(a.trace, b.trace);
    assert.equal(a.steps, b.steps);
    assert.ok(a.trace.length > 10, 'the world did something');
  });

  it(`keeps the invariants on seeds 1..${BUDGET}`, async function () {
    this.timeout(Math.max(120_000, BUDGET * 100));
    let transactions = 0;
    let steps = 0;
    const stats = new SimStats();
    for (let seed = 1; seed <= BUDGET; seed++) {
      const r = await runSeed(seed);
      transactions += r.transactions;
      steps += r.steps;
      stats.add(r.stats);
      assert.deepEqual(r.violations, [], explain(r));
    }
    console.log(
      `      ${BUDGET} seeds, ${transactions} simulated transactions, ${steps} scheduler steps`,
    );
    // A world where nothing commits, no fault fires or a rare path is never
    // taken passes every invariant: that is a failure too.
    assert.deepEqual(
      stats.emptiness({ faultFreeCommitShare: FAULT_FREE_COMMIT_FLOOR }),
      [],
      stats.table(BUDGET).join('\n'),
    );
  });
});
