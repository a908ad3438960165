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
  });
});
