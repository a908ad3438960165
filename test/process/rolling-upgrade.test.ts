import assert from 'node:assert/strict';
import { previousRelease } from '../../tools/release-baseline.ts';
import { createBanks } from '../support/bank.ts';
import type { BankProcess } from '../support/bank.ts';
import { CoordinatorFleet, restartableEnv } from '../support/child.ts';
import { freshSchema, sql } from '../support/db.ts';
import { checkOutPrevious, rollingUpgrade } from '../support/rolling-upgrade.ts';

describe('rolling upgrade: the previous release and this one share the log under load', function () {
  this.timeout(300_000);
  let previous: ReturnType<typeof checkOutPrevious>;
  let schema: string;
  let fleet: CoordinatorFleet;
  let banks: BankProcess[] = [];

  before(async function () {
    previous = checkOutPrevious();
    schema = await freshSchema(import.meta.url);
    fleet = new CoordinatorFleet([
      await restartableEnv(schema, 'rolling-a'),
      await restartableEnv(schema, 'rolling-b'),
    ]);
    banks = await createBanks('twopc_rolling', 2);
  });
  after(async function () {
    fleet?.killAll();
    await Promise.all(banks.map((b) => b.close()));
    previous?.remove();
  });

  it('rolls every coordinator from the previous release to this one and one back: no failed transfer, every invariant', async function () {
    const summary = await rollingUpgrade(fleet, banks, previous.dir, async () =>
      (
        await sql<{ version: string | null }>(
          schema,
          'SELECT version FROM twopc_coordinators ORDER BY name',
        )
      ).map((r) => r.version),
    );
    console.log(`      ${summary}`);
    // This release created folded transactions (log-layout.ts) while
    // coordinators of the previous release, which read both layouts, shared
    // the log with it; those created in rows came from the previous release.
    const [layouts] = await sql<{ folded: number; rows: number; open: number }>(
      schema,
      `SELECT count(*) FILTER (WHERE participants IS NOT NULL)::integer AS folded,
         count(*) FILTER (WHERE participants IS NULL)::integer AS rows,
         count(*) FILTER (WHERE finished_at IS NULL)::integer AS open
       FROM twopc_transactions`,
    );
    // Commit claims a transaction for the coordinator it reaches: those the
    // previous release (the one live at the end, after the rollback)
    // committed.
    const [byPrevious] = await sql<{ n: number }>(
      schema,
      `SELECT count(*)::integer AS n FROM twopc_transactions t
       JOIN twopc_coordinators c ON c.id = t.owner_id
       WHERE t.participants IS NOT NULL AND c.version = $1`,
      [previousRelease().version],
    );
    console.log(
      `      created folded ${layouts?.folded} (finished by the previous release ${byPrevious?.n}), in rows ${layouts?.rows}`,
    );
    assert.ok((layouts?.folded ?? 0) > 0, 'no transaction of the run was created folded');
    assert.ok((layouts?.rows ?? 0) > 0, 'no transaction of the run was created in rows');
    assert.equal(layouts?.open, 0, 'transactions left unfinished');
  });
});
