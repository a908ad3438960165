import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { shardOf } from '../../src/store/shard-id.ts';
import { assertBankInvariants, createBanks, quiesce } from '../support/bank.ts';
import type { BankProcess } from '../support/bank.ts';
import { CoordinatorFleet, fastTakeoverEnv } from '../support/child.ts';
import { eventually } from '../support/expect-status.ts';
import { HaCluster } from '../support/ha-cluster.ts';
import { OwnPostgres } from '../support/own-postgres.ts';
import { TransferLoad, commitRate } from '../support/transfer-load.ts';

const LEASE_MS = 3_000;

describe('high availability with shards: one shard on Patroni loses its primary while the other carries on', function () {
  this.timeout(600_000);
  let cluster: HaCluster;
  let plain: OwnPostgres;
  let banks: BankProcess[] = [];
  let fleet: CoordinatorFleet;
  let dir: string;

  before(async function () {
    cluster = await HaCluster.start({ synchronous: true });
    plain = await OwnPostgres.create();
    dir = await mkdtemp(join(tmpdir(), 'twopc-ha-shards-'));
    const file = join(dir, 'shards.json');
    await writeFile(
      file,
      JSON.stringify({
        shards: [
          { id: 0, url: plain.url(), weight: 1 },
          { id: 1, url: cluster.url(), weight: 1 },
        ],
      }),
    );
    fleet = await CoordinatorFleet.pair({
      ...fastTakeoverEnv(LEASE_MS),
      TWOPC_LOG_SHARDS: file,
      TWOPC_STORE_STALL_MS: '1000',
    });
    banks = await createBanks('twopc_ha_shards', 3);
  });

  after(async function () {
    fleet?.killAll();
    await Promise.all(banks.map((b) => b.close()));
    await cluster?.stop();
    await plain?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('the plain shard keeps committing through the failover; after it, both commit and every invariant holds', async function () {
    await fleet.start(0, 60_000);
    await fleet.start(1, 60_000);
    for (const bank of banks) {
      await bank.start(fleet.target);
    }
    const client = new TwopcClient(fleet.addresses, { attempts: 5, callTimeoutMs: 5_000 });
    const load = new TransferLoad(client, banks);
    const started = Date.now();
    await eventually(
      async () =>
        [0, 1].every((s) => load.log.some((t) => t.told === 'COMMITTED' && shardOf(t.txnId) === s)),
      60_000,
      'both shards commit',
    );
    const before = commitRate(load.log, 0, Math.max(started, Date.now() - 5_000), Date.now());

    // The Patroni shard's primary is lost: Patroni and PostgreSQL SIGKILLed.
    const primary = await cluster.primary();
    assert.ok(primary !== null, 'a primary');
    const lostAt = Date.now();
    cluster.kill(primary);
    await cluster.promotedOver(primary, 60_000);
    const promotedAt = Date.now();
    const during = commitRate(load.log, 0, lostAt, promotedAt);
    cluster.startNode(primary);
    await eventually(
      async () =>
        load.log.some(
          (t) => t.told === 'COMMITTED' && shardOf(t.txnId) === 1 && t.begunAt > promotedAt,
        ),
      120_000,
      'the Patroni shard commits after its failover',
    );
    const back = Date.now();
    await load.stop();
    const onPlain = load.log.filter(
      (t) =>
        t.told === 'COMMITTED' &&
        shardOf(t.txnId) === 0 &&
        t.answeredAt > lostAt &&
        t.answeredAt < promotedAt,
    ).length;
    console.log(
      `      failover of shard 1 took ${((promotedAt - lostAt) / 1000).toFixed(1)} s (commits again ${((back - lostAt) / 1000).toFixed(1)} s after the loss); shard 0 committed ${during.toFixed(1)}/s meanwhile (${before.toFixed(1)}/s before)`,
    );
    assert.ok(onPlain > 0, 'shard 0 committed while shard 1 had no primary');

    const final = await quiesce(client, banks, load.log, 120_000);
    await assertBankInvariants(banks, load.log, final);
    const tally = load.tally();
    console.log(
      `      ${load.log.length} transfers: ${tally.COMMITTED} committed, ${tally.ABORTED} aborted, ${tally.UNKNOWN} answers lost`,
    );
    client.close();
  });
});
