import assert from 'node:assert/strict';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { assertBankInvariants, createBanks, quiesce } from '../support/bank.ts';
import type { BankProcess } from '../support/bank.ts';
import { CoordinatorFleet, fastTakeoverEnv } from '../support/child.ts';
import { HaCluster } from '../support/ha-cluster.ts';
import { TransferLoad, gapAfter, killThenPause } from '../support/transfer-load.ts';

const LEASE_MS = 3_000;

describe('high availability: the log on Patroni (strict synchronous replication), two coordinators behind round_robin', function () {
  this.timeout(600_000);
  let cluster: HaCluster;
  let banks: BankProcess[] = [];
  let fleet: CoordinatorFleet;

  before(async function () {
    cluster = await HaCluster.start({ synchronous: true });
    fleet = await CoordinatorFleet.pair({
      ...fastTakeoverEnv(LEASE_MS),
      DATABASE_URL: cluster.url(),
      TWOPC_DB_SCHEMA: 'twopc',
    });
    banks = await createBanks('twopc_ha', 3);
  });

  after(async function () {
    fleet?.killAll();
    await Promise.all(banks.map((b) => b.close()));
    await cluster?.stop();
  });

  it('loses no decision through a primary loss, a coordinator kill and a coordinator pause', async function () {
    const a = await fleet.start(0, 60_000);
    const b = await fleet.start(1, 60_000);
    for (const bank of banks) {
      await bank.start(fleet.target);
    }
    const client = new TwopcClient(fleet.addresses, { attempts: 5, callTimeoutMs: 5_000 });
    const load = new TransferLoad(client, banks);
    await load.committedSince(Date.now(), 30_000, 'transfers committing');

    // (a) The primary's machine is lost: Patroni and PostgreSQL SIGKILLed.
    const primary = await cluster.primary();
    assert.ok(primary !== null, 'a primary');
    const lostAt = Date.now();
    cluster.kill(primary);
    await cluster.promotedOver(primary, 60_000);
    const promotedAt = Date.now();
    // Strict synchronous mode takes no write without a standby in sync: the
    // lost node comes back (rewound by Patroni) as the new standby.
    cluster.startNode(primary);
    await load.committedSince(lostAt, 120_000, 'a commit after the failover');
    const healedAt = Date.now();

    // (b) one coordinator killed, (c) the other paused past its lease.
    const { killedAt, pausedAt } = await killThenPause(
      load,
      a,
      b,
      () => fleet.start(0, 60_000),
      LEASE_MS,
      60_000,
    );
    await load.stop();
    const log = load.log;

    const final = await quiesce(client, banks, log, 120_000);
    await assertBankInvariants(banks, log, final);
    const tally = load.tally();
    console.log(
      `      ${log.length} transfers: ${tally.COMMITTED} committed, ${tally.ABORTED} aborted, ${tally.UNKNOWN} answers lost`,
    );
    console.log(
      `      gaps (fault → first commit begun after it): primary lost ${gapAfter(log, lostAt)} ms (promotion after ${promotedAt - lostAt} ms, writes back after ${healedAt - lostAt} ms), coordinator killed ${gapAfter(log, killedAt)} ms, coordinator paused ${gapAfter(log, pausedAt)} ms`,
    );
    assert.ok(tally.COMMITTED > 0);
    client.close();
  });
});
