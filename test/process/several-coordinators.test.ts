import assert from 'node:assert/strict';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { assertBankInvariants, createBanks, quiesce } from '../support/bank.ts';
import type { BankProcess } from '../support/bank.ts';
import { CoordinatorFleet, fastTakeoverEnv, restartableEnv } from '../support/child.ts';
import { freshSchema } from '../support/db.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { TransferLoad, gapAfter, killThenPause } from '../support/transfer-load.ts';

const LEASE_MS = 3_000;

describe('several coordinators, one logical service: clients balance over them and ride through a kill and a pause', function () {
  this.timeout(180_000);
  let banks: BankProcess[] = [];
  let fleet: CoordinatorFleet;
  let proxy: TcpProxy;

  before(async function () {
    const schema = await freshSchema(import.meta.url);
    const common = fastTakeoverEnv(LEASE_MS);
    const [a, b] = [
      await restartableEnv(schema, 'coordinator-a', common),
      await restartableEnv(schema, 'coordinator-b', common),
    ];
    // Coordinator A reaches the log through a link the test can cut.
    const db = new URL(a.DATABASE_URL ?? '');
    proxy = await new TcpProxy(db.hostname, Number(db.port)).start();
    fleet = new CoordinatorFleet([{ ...a, DATABASE_URL: proxy.url(db.toString()) }, b]);
    banks = await createBanks('twopc_several', 3);
  });

  after(async function () {
    fleet?.killAll();
    await Promise.all(banks.map((b) => b.close()));
    await proxy?.stop();
  });

  it('keeps every invariant through a SIGKILL of one, a SIGSTOP of the other past its lease, and one cut off from the log', async function () {
    const a = await fleet.start(0);
    const b = await fleet.start(1);
    for (const bank of banks) {
      await bank.start(fleet.target);
    }
    const client = new TwopcClient(fleet.addresses, { attempts: 3, callTimeoutMs: 4_000 });
    const load = new TransferLoad(client, banks);
    await load.committedSince(Date.now(), 20_000, 'transfers committing');
    // (b) one killed, (c) the other paused past its lease.
    const { killedAt, pausedAt } = await killThenPause(
      load,
      a,
      b,
      () => fleet.start(0),
      LEASE_MS,
      30_000,
    );
    // (d) The restarted one cut off from the log while it still reaches
    // participants and clients: it fails closed, the other takes its work
    // over; healed, it registers again and serves.
    const cutAt = Date.now();
    proxy.cut();
    await load.committedSince(cutAt, 30_000, 'a commit while one is cut off');
    await new Promise((r) => setTimeout(r, LEASE_MS * 2));
    proxy.heal();
    await load.committedSince(Date.now(), 30_000, 'commits after the heal');
    await load.stop();
    const log = load.log;

    const final = await quiesce(client, banks, log, 90_000);
    await assertBankInvariants(banks, log, final);
    const tally = load.tally();
    console.log(
      `      ${log.length} transfers: ${tally.COMMITTED} committed, ${tally.ABORTED} aborted, ${tally.UNKNOWN} answers lost; gap after the kill ${gapAfter(log, killedAt)} ms, after the pause ${gapAfter(log, pausedAt)} ms, after the cut ${gapAfter(log, cutAt)} ms`,
    );
    assert.ok(tally.COMMITTED > 0);
    client.close();
  });
});
