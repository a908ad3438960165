import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { TwopcProcess, restartableEnv } from '../support/child.ts';
import { DecisionGate } from '../support/decision-gate.ts';
import { loggedState, migratedSchema, withClient } from '../support/db.ts';
import { eventually, expectStatus } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';

describe('told outcome: the coordinator killed while the decision write is in flight', function () {
  this.timeout(90_000);
  let schema: string;
  let env: Record<string, string>;
  let current: TwopcProcess | null = null;
  const fleet = new FakeFleet();

  /** @param attempts of each client call (1: an error is what the client is told) */
  async function startCoordinator(attempts = 1): Promise<TwopcClient> {
    current = new TwopcProcess(['serve'], env);
    return new TwopcClient(await current.serving(), { attempts });
  }

  beforeEach(async function () {
    schema = await migratedSchema(import.meta.url);
    env = await restartableEnv(schema, 'told-outcome-kill', {
      TWOPC_HEARTBEAT_INTERVAL_MS: '100',
      TWOPC_RECOVERY_INTERVAL_MS: '300',
    });
  });
  afterEach(async function () {
    await current?.kill('SIGKILL');
    current = null;
    await fleet.stopAll();
  });

  it('ends with the outcome the client was told, or with the client told nothing', async function () {
    const a = await fleet.start('a');
    const b = await fleet.start('b');
    const client = await startCoordinator();
    const { txnId } = await client.begin({ participants: [a.ref, b.ref] });
    const gate = await DecisionGate.close(schema, 7401);
    let told: string;
    try {
      // The claim waits for the row while both early Prepares are answered,
      // so their votes are applied together once it lands; the decision
      // write then waits at the gate.
      const commit = await withClient(async (c) => {
        await c.query(`SET search_path TO ${schema}`);
        await c.query('BEGIN');
        await c.query('SELECT 1 FROM twopc_transactions WHERE txn_id = $1 FOR UPDATE', [txnId]);
        const answer = client.commit(txnId, { timeoutMs: 30_000 }).then(
          (r) => r.outcome as string,
          (e: grpc.ServiceError) => `nothing (${grpc.status[e.code]})`,
        );
        await a.waitFor((x) => x.method === 'Prepare');
        await b.waitFor((x) => x.method === 'Prepare');
        await new Promise((r) => setTimeout(r, 200)); // their votes travel back
        await c.query('COMMIT');
        return { answer };
      });
      await gate.untilWaiting();
      // Meanwhile, more of the same transaction: a participant stops
      // serving, a read, a heartbeat, a repeated Commit.
      a.setServing(false);
      assert.equal((await client.get(txnId)).state, 'PREPARING');
      await expectStatus(client.heartbeat(txnId), grpc.status.FAILED_PRECONDITION);
      await expectStatus(client.commit(txnId, { timeoutMs: 300 }), grpc.status.DEADLINE_EXCEEDED);
      await current?.kill('SIGKILL');
      await gate.killWaiting(); // the decision write dies with it: it never lands
      told = await commit.answer;
    } finally {
      await gate.open(schema);
    }
    a.setServing(true);
    assert.match(told, /^nothing/, `the client was told ${told} before the decision was durable`);
    assert.equal(await loggedState(schema, txnId), 'PREPARING');

    const again = await startCoordinator(10);
    const final = await eventually(
      async () => {
        const s = await loggedState(schema, txnId);
        return s === 'COMMITTED' || s === 'ABORTED' ? s : null;
      },
      30_000,
      'a final state',
    );
    assert.equal(final, 'ABORTED', 'presumed abort: no decision was logged');
    assert.equal((await again.commit(txnId)).outcome, 'ABORTED');
    for (const p of [a, b]) {
      assert.equal(p.callsOf('Commit', txnId).length, 0, `${p.name} heard Commit`);
      assert.ok(p.callsOf('Abort', txnId).length >= 1, `${p.name} was not told Abort`);
    }
    again.close();
    client.close();
  });
});
