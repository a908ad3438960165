import assert from 'node:assert/strict';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { TwopcProcess } from '../support/child.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema, sql, testDatabaseUrl } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeParticipant } from '../support/fake-participant.ts';
import { freePort } from '../support/hooks.ts';
import { ParticipantChild } from '../support/participant-child.ts';

// Real time, real processes: these prove the wiring; the rules themselves
// are tested on a fake clock in test/unit/health-monitor.test.ts.
const INTERVAL_MS = 200;
const MISSES = 3;

describe('heartbeats and timeouts (real processes, real time)', function () {
  this.timeout(60_000);
  let h: Harness;
  const children: ParticipantChild[] = [];

  async function child(name: string): Promise<ParticipantChild> {
    const c = await new ParticipantChild(name).start();
    children.push(c);
    return c;
  }

  before(async function () {
    h = await startCoordinator(await migratedSchema(import.meta.url), {
      heartbeatIntervalMs: INTERVAL_MS,
      heartbeatMisses: MISSES,
      prepareTimeoutMs: 10_000,
      callTimeoutMs: 1_000,
    });
  });
  after(async function () {
    await h.stop();
  });
  afterEach(async function () {
    await Promise.all(children.splice(0).map((c) => c.stop()));
  });

  it('aborts within interval × misses when a participant is SIGSTOPped during Prepare, and tells it after SIGCONT', async function () {
    const a = await child('a');
    const frozen = await child('frozen');
    const { txnId } = await h.client.begin({ participants: [a.ref, frozen.ref] });
    frozen.signal('SIGSTOP');
    const answer = await h.client.commit(txnId);
    assert.equal(answer.outcome, 'ABORTED');
    // The reason proves the heartbeat rule decided, not the 10 s prepare timeout.
    assert.match(
      answer.reason,
      /participant 'frozen' failed to prepare: no heartbeat: 3 heartbeats missed in a row/,
    );
    frozen.signal('SIGCONT');
    await eventually(
      async () => frozen.callsOf('Abort', txnId).length > 0,
      15_000,
      'Abort after SIGCONT',
    );
    // The participant records the Abort as it arrives; its answer, then the
    // coordinator's completion write, come after: wait for that state.
    await eventually(
      async () => (await h.client.get(txnId)).state === 'ABORTED',
      15_000,
      'ABORTED in the log once the Abort is acknowledged',
    );
  });

  it('commits a participant that takes 3 s to prepare but answers heartbeats', async function () {
    const slow = await new FakeParticipant('slow', { prepareDelayMs: 3_000 }).start();
    const b = await new FakeParticipant('b').start();
    try {
      const { txnId } = await h.client.begin({ participants: [slow.ref, b.ref] });
      assert.equal((await h.client.commit(txnId)).outcome, 'COMMITTED');
    } finally {
      await slow.stop();
      await b.stop();
    }
  });

  it('commits a participant SIGSTOPped after voting PREPARED, once it is back', async function () {
    const a = await child('a');
    const b = await new ParticipantChild('b').start({ failCommitTimes: 1_000_000 });
    children.push(b);
    const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
    assert.equal((await h.client.commit(txnId)).outcome, 'COMMITTED');
    // b has voted and refuses Commit: freeze it, then let it heal (SIGUSR1) once back.
    await eventually(async () => b.callsOf('Commit', txnId).length > 0);
    b.signal('SIGSTOP');
    await new Promise((r) => setTimeout(r, INTERVAL_MS * MISSES * 4));
    const held = await h.client.get(txnId);
    assert.equal(
      held.state,
      'COMMITTING',
      'a DOWN participant after the decision is retried, never aborted',
    );
    b.signal('SIGCONT');
    b.signal('SIGUSR1');
    await eventually(
      async () => (await h.client.get(txnId)).state === 'COMMITTED',
      15_000,
      'delivery after SIGCONT',
    );
    assert.equal(b.callsOf('Abort', txnId).length + a.callsOf('Abort', txnId).length, 0);
  });

  it('aborts a transaction whose client never commits, at lease expiry, telling participants', async function () {
    const a = await child('a');
    const { txnId } = await h.client.begin({ timeoutMs: 700 });
    await h.client.enlist(txnId, a.ref);
    const tx = await eventually(
      async () => {
        const t = await h.client.get(txnId);
        return t.state === 'ABORTED' ? t : null;
      },
      10_000,
      'lease expiry',
    );
    assert.equal(tx.reason, 'LEASE_EXPIRED');
    assert.ok(a.callsOf('Abort', txnId).length > 0);
  });
});

describe('a coordinator restarted while a lease runs', function () {
  this.timeout(60_000);

  it('still expires the lease on time (the deadline lives in the log)', async function () {
    const schema = await migratedSchema(import.meta.url, 'restart-lease');
    const env = {
      DATABASE_URL: await testDatabaseUrl(),
      TWOPC_DB_SCHEMA: schema,
      TWOPC_LISTEN: `127.0.0.1:${await freePort()}`,
      TWOPC_COORDINATOR_NAME: 'lease-test',
      TWOPC_SWEEP_INTERVAL_MS: '100',
    };
    const first = new TwopcProcess(['serve'], env);
    const client = new TwopcClient(await first.serving());
    // A lease long enough that the restart (seconds on a busy machine) ends
    // well inside it.
    const { txnId, leaseExpiresAt } = await client.begin({ timeoutMs: 10_000 });
    client.close();
    await first.kill('SIGKILL');
    const second = new TwopcProcess(['serve'], env);
    const again = new TwopcClient(await second.serving());
    try {
      assert.equal((await again.get(txnId)).state, 'ACTIVE', 'not aborted early by the restart');
      const tx = await eventually(
        async () => {
          const t = await again.get(txnId);
          return t.state === 'ABORTED' ? t : null;
        },
        25_000,
        'lease expiry after restart',
      );
      assert.equal(tx.reason, 'LEASE_EXPIRED');
      const [row] = await sql<{ late_ms: number }>(
        schema,
        'SELECT extract(epoch FROM decided_at - lease_expires_at) * 1000 AS late_ms FROM twopc_transactions WHERE txn_id = $1',
        [txnId],
      );
      assert.ok((row?.late_ms ?? -1) >= 0, 'aborted before its lease ran out');
      assert.ok(
        (row?.late_ms ?? Infinity) < 3_000,
        `aborted ${row?.late_ms} ms after the lease ran out`,
      );
      assert.ok(leaseExpiresAt !== null);
    } finally {
      again.close();
      await second.kill('SIGKILL');
    }
  });
});
