import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { shardOf } from '../../src/store/shard-id.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { freshSchema, testDatabaseUrl } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import { OwnPostgres } from '../support/own-postgres.ts';

/**
 * A shard of the log whose PostgreSQL is a standby in recovery, as a node
 * is for the seconds a Patroni promotion takes while HAProxy already routes
 * to it: reads answer, writes are refused (25006), and any statement naming
 * the UNLOGGED incarnation table fails at planning (0A000, "cannot access
 * temporary or unlogged relations during recovery"). Every such answer
 * means "the log is not a writable primary right now": UNAVAILABLE to the
 * client (retried by the SDK), never INTERNAL; new transactions go to the
 * other shard; once promoted, the transaction held up gets its outcome.
 */
describe('a log shard on a standby in recovery (a promotion still finishing)', function () {
  this.timeout(120_000);
  let standby: OwnPostgres;
  let h: Harness;
  let dir: string;
  const fleet = new FakeFleet();

  /** Begins transactions until one lands on `shard` (the others are aborted). */
  async function beginOn(shard: number, participants: { name: string; endpoint: string }[]) {
    for (;;) {
      const { txnId } = await h.client.begin({ participants });
      if (shardOf(txnId) === shard) {
        return txnId;
      }
      await h.client.abort(txnId);
    }
  }

  /** The gRPC status of a call that must fail, by name. */
  async function statusOf(call: Promise<unknown>): Promise<string> {
    try {
      await call;
    } catch (err) {
      return `${grpc.status[(err as grpc.ServiceError).code]}: ${(err as grpc.ServiceError).details}`;
    }
    return 'OK';
  }

  before(async function () {
    this.timeout(120_000);
    standby = await OwnPostgres.create();
    dir = await mkdtemp(join(tmpdir(), 'twopc-standby-'));
    const file = join(dir, 'shards.json');
    await writeFile(
      file,
      JSON.stringify({
        shards: [
          {
            id: 0,
            url: await testDatabaseUrl(),
            schema: await freshSchema(import.meta.url, 'shard0'),
            weight: 1,
          },
          { id: 1, url: standby.url(), weight: 1 },
        ],
      }),
    );
    h = await startCoordinator('twopc', { logShards: file, databaseUrl: null });
  });

  after(async function () {
    await fleet.stopAll();
    await h?.stop();
    await standby?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers UNAVAILABLE (never INTERNAL) while the shard is in recovery, steers new transactions away, and ends the held one once promoted', async function () {
    const solo = await fleet.start('solo');
    const a = await fleet.start('a');
    const b = await fleet.start('b');
    const onePhase = await beginOn(1, [solo.ref]);
    const twoPhase = await beginOn(1, [a.ref, b.ref]);

    await standby.restartAsStandby();
    assert.deepEqual(await standby.sql('SELECT pg_is_in_recovery() AS r'), [{ r: true }]);

    // The one-phase Commit and the two-phase one read the incarnation (0A000)
    // or write (25006): the store is away, and the client is told so.
    for (const txnId of [onePhase, twoPhase]) {
      assert.match(await statusOf(h.client.commit(txnId)), /^UNAVAILABLE: /);
    }
    assert.match(await statusOf(h.client.heartbeat(twoPhase)), /^UNAVAILABLE: /);
    assert.match(await statusOf(h.client.abort(twoPhase, 'client gives up')), /^UNAVAILABLE: /);

    // New transactions: a client that retries UNAVAILABLE (the SDK's default)
    // always gets one, on the shard that is a primary.
    const retrying = new TwopcClient(h.app.address);
    try {
      const begun = [];
      for (let i = 0; i < 20; i++) {
        begun.push((await retrying.begin({})).txnId);
      }
      assert.deepEqual(
        begun.map(shardOf),
        begun.map(() => 0),
      );
    } finally {
      retrying.close();
    }
    await eventually(
      async () => h.app.shards().find((s) => s.shard === 1)?.up === false,
      10_000,
      'shard 1 counted as away',
    );

    // The promotion finishes: the held transactions get their outcome.
    await standby.promote();
    const answers = await eventually(
      async () =>
        Promise.all([h.client.commit(onePhase), h.client.commit(twoPhase)]).catch(() => null),
      30_000,
      'both Commits answered',
    );
    for (const answer of answers) {
      assert.ok(['COMMITTED', 'ABORTED'].includes(answer.outcome), JSON.stringify(answer));
    }
  });
});
