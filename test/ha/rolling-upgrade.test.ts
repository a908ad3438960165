import pg from 'pg';
import { createBanks } from '../support/bank.ts';
import type { BankProcess } from '../support/bank.ts';
import { CoordinatorFleet, fastTakeoverEnv } from '../support/child.ts';
import { HaCluster } from '../support/ha-cluster.ts';
import { checkOutPrevious, rollingUpgrade } from '../support/rolling-upgrade.ts';

describe('high availability: a rolling upgrade with the log on Patroni (strict synchronous replication)', function () {
  this.timeout(600_000);
  let previous: ReturnType<typeof checkOutPrevious>;
  let cluster: HaCluster;
  let banks: BankProcess[] = [];
  let fleet: CoordinatorFleet;

  before(async function () {
    previous = checkOutPrevious();
    cluster = await HaCluster.start({ synchronous: true });
    fleet = await CoordinatorFleet.pair({
      ...fastTakeoverEnv(3_000),
      DATABASE_URL: cluster.url(),
      TWOPC_DB_SCHEMA: 'twopc_rolling',
    });
    banks = await createBanks('twopc_ha_rolling', 2);
  });

  after(async function () {
    fleet?.killAll();
    await Promise.all(banks.map((b) => b.close()));
    await cluster?.stop();
    previous?.remove();
  });

  it('rolls every coordinator from the previous release to this one and one back: no failed transfer, every invariant', async function () {
    const versions = async (): Promise<(string | null)[]> => {
      const c = new pg.Client({ connectionString: cluster.url() });
      await c.connect();
      try {
        const rows = await c.query<{ version: string | null }>(
          'SELECT version FROM twopc_rolling.twopc_coordinators ORDER BY name',
        );
        return rows.rows.map((r) => r.version);
      } finally {
        await c.end();
      }
    };
    console.log(`      ${await rollingUpgrade(fleet, banks, previous.dir, versions)}`);
  });
});
