import assert from 'node:assert/strict';
import type { TxId } from '../../src/core/tx-record.ts';
import { LogLayout } from '../../src/store/log-layout.ts';
import { createPools } from '../../src/store/pg-pools.ts';
import { PgTransactionStore } from '../../src/store/pg-transaction-store.ts';
import type { BeginInput } from '../../src/store/transaction-store.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema, sql, testDatabaseUrl } from '../support/db.ts';
import { eventually } from '../support/expect-status.ts';
import { FakeFleet } from '../support/fake-participant.ts';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { TwopcProcess, restartableEnv } from '../support/child.ts';
import { LIST_ALL } from '../support/list-filter.ts';

// The log holds a transaction's participants in one of two layouts
// (src/store/log-layout.ts), and says per row which. Whatever a store
// creates, it reads and updates both: every use of the log runs here over
// transactions created in each layout, and one coordinator finishes
// transactions of both.

/** A coordinator registered alive for the whole test (its work is left to it). */
const LIVE = '00000000-0000-4000-8000-00000000a11e';
/** A coordinator that never registered: its unfinished work is taken over. */
const DEAD = '00000000-0000-4000-8000-00000000dead';

/** A store over `schema` creating `layout` (two connections); close it after. */
async function storeCreating(schema: string, layout: LogLayout): Promise<PgTransactionStore> {
  const pools = createPools({
    url: await testDatabaseUrl(),
    schema,
    maxConnections: 2,
    onError: () => undefined,
  });
  return new PgTransactionStore(pools, undefined, undefined, layout);
}

/** Which layout the log holds a transaction in, checked against the participant rows. */
async function layoutOf(schema: string, txnId: string): Promise<LogLayout> {
  const [row] = await sql<{ folded: boolean; rows: number }>(
    schema,
    `SELECT t.participants IS NOT NULL AS folded,
       (SELECT count(*)::integer FROM twopc_participants p WHERE p.txn_id = t.txn_id) AS rows
     FROM twopc_transactions t WHERE t.txn_id = $1`,
    [txnId],
  );
  assert.ok(row !== undefined, `no row for ${txnId}`);
  if (row.folded) {
    assert.equal(row.rows, 0, 'a folded transaction has participant rows');
  }
  return row.folded ? LogLayout.FOLDED : LogLayout.ROWS;
}

/** Starts a coordinator whose store creates `layout` (the internal setting a store reads when made). */
async function coordinatorCreating(schema: string, layout: LogLayout): Promise<Harness> {
  const was = process.env.TWOPC_INTERNAL_LOG_LAYOUT;
  process.env.TWOPC_INTERNAL_LOG_LAYOUT = layout;
  try {
    return await startCoordinator(schema);
  } finally {
    if (was === undefined) {
      delete process.env.TWOPC_INTERNAL_LOG_LAYOUT;
    } else {
      process.env.TWOPC_INTERNAL_LOG_LAYOUT = was;
    }
  }
}

/** A stored trace context: the W3C carrier as JSON. */
const TRACE = JSON.stringify({
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
});

function beginInput(txnId: TxId, participants: BeginInput['participants']): BeginInput {
  return {
    txnId,
    leaseMs: 60_000,
    labels: {},
    participants,
    ownerId: LIVE,
    traceContext: TRACE,
    tenant: 'default',
    principal: null,
  };
}

for (const layout of [LogLayout.ROWS, LogLayout.FOLDED]) {
  describe(`the log's ${layout} layout: every use over transactions created in it`, function () {
    this.timeout(30_000);
    let schema: string;
    let h: Harness;
    let store: PgTransactionStore;
    const fleet = new FakeFleet();

    before(async function () {
      schema = await migratedSchema(import.meta.url, layout);
      h = await coordinatorCreating(schema, layout);
      store = await storeCreating(schema, layout);
      await store.registerCoordinator(LIVE, 'elsewhere', 600_000);
    });
    after(async function () {
      await store.close();
      await h.stop();
      await fleet.stopAll();
    });

    it('commits two participants named at Begin: votes, acks and the trace shown', async function () {
      const [a, b] = await Promise.all([fleet.start(`${layout}-a`), fleet.start(`${layout}-b`)]);
      assert.ok(a !== undefined && b !== undefined);
      const { txnId } = await h.client.begin({ participants: [b.ref, a.ref] });
      assert.equal(await layoutOf(schema, txnId), layout);
      assert.equal((await h.client.commit(txnId, { waitForAcks: true })).outcome, 'COMMITTED');
      const tx = await store.get(txnId as TxId);
      assert.ok(tx !== null);
      assert.equal(tx.state, 'COMMITTED');
      assert.deepEqual(
        tx.participants.map((p) => [p.name, p.endpoint, p.vote, p.acked]),
        [
          [a.name, a.ref.endpoint, 'PREPARED', true],
          [b.name, b.ref.endpoint, 'PREPARED', true],
        ],
      );
      assert.equal(a.callsOf('Commit', txnId).length, 1);
      assert.equal(b.callsOf('Commit', txnId).length, 1);
    });

    it('aborts on an ABORT vote: the voter and its reason kept, the others told to abort', async function () {
      const yes = await fleet.start(`${layout}-yes`);
      const no = await fleet.start(`${layout}-no`, { vote: 'ABORT', abortReason: 'out of stock' });
      const { txnId } = await h.client.begin({ participants: [yes.ref, no.ref] });
      const answer = await h.client.commit(txnId, { waitForAcks: true });
      assert.equal(answer.outcome, 'ABORTED');
      const tx = await eventually(
        async () => {
          const t = await store.get(txnId as TxId);
          return t?.state === 'ABORTED' ? t : null;
        },
        10_000,
        'the abort completed',
      );
      const voter = tx.participants.find((p) => p.name === no.name);
      assert.equal(voter?.vote, 'ABORT');
      assert.equal(voter?.voteReason, 'out of stock');
      assert.equal(yes.callsOf('Abort', txnId).length, 1);
      assert.equal(await layoutOf(schema, txnId), layout);
    });

    it('commits a lone participant in one phase', async function () {
      const only = await fleet.start(`${layout}-only`);
      const { txnId } = await h.client.begin({ participants: [only.ref] });
      assert.equal((await h.client.commit(txnId, { waitForAcks: true })).outcome, 'COMMITTED');
      assert.equal(only.callsOf('Prepare', txnId).length, 0);
      const tx = await store.get(txnId as TxId);
      assert.equal(tx?.onePhase, true);
      assert.equal(tx?.participants[0]?.acked, true);
    });

    it('enlists by call once per name, refuses a second endpoint under a name, lists by participant', async function () {
      const a = await fleet.start(`${layout}-enlisted`);
      const { txnId } = await h.client.begin();
      assert.equal((await h.client.enlist(txnId, a.ref)).newlyEnlisted, true);
      assert.equal((await h.client.enlist(txnId, a.ref)).newlyEnlisted, false);
      await assert.rejects(
        h.client.enlist(txnId, { name: a.name, endpoint: '127.0.0.1:1' }),
        /already enlisted|endpoint/i,
      );
      const listed = await store.list({ ...LIST_ALL, participant: a.name });
      assert.deepEqual(
        listed.map((t) => t.txnId),
        [txnId],
      );
      const answer = await h.client.commit(txnId, { waitForAcks: true });
      assert.equal(answer.outcome, 'COMMITTED', answer.reason);
      assert.equal(a.callsOf('Commit', txnId).length, 1);
      assert.equal(await layoutOf(schema, txnId), layout);
    });

    it('records failed deliveries, acknowledgements with a heuristic outcome, and one resolution', async function () {
      const txnId = store.newTxnId();
      await store.begin(
        beginInput(txnId, [
          { name: 'p', endpoint: '127.0.0.1:1' },
          { name: 'q', endpoint: '127.0.0.1:2' },
          { name: 'r', endpoint: '127.0.0.1:3' },
        ]),
      );
      assert.equal(await layoutOf(schema, txnId), layout);
      const preparing = await store.startPreparing(txnId, LIVE, false);
      assert.ok(preparing !== null);
      assert.equal(preparing.traceContext, TRACE);
      assert.deepEqual(
        preparing.participants.map((p) => p.name),
        ['p', 'q', 'r'],
      );
      const decided = {
        txnId,
        state: 'COMMITTING',
        reason: null,
        onePhase: false,
        participants: preparing.participants.map((p) => ({ ...p, vote: 'PREPARED' as const })),
      } as const;
      assert.equal(await store.recordDecision(decided), 'LANDED');
      await store.recordDeliveryFailure(txnId, 'p', 3, 'connection refused', 60_000);
      await store.recordAck(txnId, 'q', 'ABORTED');
      await store.close(); // flushes the queued acknowledgement
      store = await storeCreating(schema, layout);
      const tx = await store.get(txnId);
      const by = new Map(tx?.participants.map((p) => [p.name, p]));
      assert.equal(by.get('p')?.attempts, 3);
      assert.equal(by.get('p')?.lastError, 'connection refused');
      assert.ok(by.get('p')?.nextAttemptAt !== null);
      assert.equal(by.get('q')?.acked, true);
      assert.equal(by.get('q')?.heuristic, 'ABORTED');
      assert.equal(by.get('r')?.acked, false);
      const heuristic = await store.list({ ...LIST_ALL, heuristicOnly: true });
      assert.deepEqual(
        heuristic.map((t) => t.txnId),
        [txnId],
      );
      const resolution = { txnId, participant: 'p', detail: 'done by hand', principal: null };
      assert.equal(await store.claimResolution({ ...resolution, final: null }), true);
      assert.equal(await store.claimResolution({ ...resolution, final: null }), false);
      const after = await store.get(txnId);
      assert.equal(after?.participants.find((p) => p.name === 'p')?.acked, true);
      assert.equal(after?.participants.find((p) => p.name === 'r')?.acked, false);
      assert.equal(after?.operatorActions.length, 1);
      assert.deepEqual(await store.access(txnId, 'r'), { tenant: 'default', enlisted: true });
      assert.deepEqual(await store.access(txnId, 'x'), { tenant: 'default', enlisted: false });
    });

    it('a transaction whose coordinator died is taken over, aborted and its participants told', async function () {
      const a = await fleet.start(`${layout}-orphaned`);
      const txnId = store.newTxnId();
      await store.begin({ ...beginInput(txnId, [a.ref]), ownerId: DEAD });
      assert.notEqual(await store.startPreparing(txnId, DEAD, false), null);
      const tx = await eventually(
        async () => {
          const t = await store.get(txnId);
          return t?.state === 'ABORTED' ? t : null;
        },
        10_000,
        'the recovery scan aborted it',
      );
      assert.equal(tx.reason, 'COORDINATOR_RECOVERY');
      assert.ok(a.callsOf('Abort', txnId).length >= 1);
    });

    it('retention deletes its finished transactions', async function () {
      const a = await fleet.start(`${layout}-retained`);
      const { txnId } = await h.client.begin({ participants: [a.ref] });
      await h.client.abort(txnId);
      await eventually(
        async () => (await store.get(txnId as TxId))?.state === 'ABORTED',
        10_000,
        'aborted',
      );
      await sql(
        schema,
        `UPDATE twopc_transactions SET created_at = now() - interval '2 hours', finished_at = now() - interval '2 hours' WHERE txn_id = $1`,
        [txnId],
      );
      while ((await store.deleteFinished(3_600_000, 100)) > 0) {
        // batches until nothing old is left
      }
      assert.equal(await store.get(txnId as TxId), null);
      const [rows] = await sql<{ n: number }>(
        schema,
        'SELECT count(*)::integer AS n FROM twopc_participants WHERE txn_id = $1',
        [txnId],
      );
      assert.equal(rows?.n, 0);
    });
  });
}

describe('one coordinator finishes transactions of both layouts, whichever it creates', function () {
  this.timeout(30_000);
  const fleet = new FakeFleet();
  after(() => fleet.stopAll());

  for (const creates of [LogLayout.ROWS, LogLayout.FOLDED]) {
    it(`a coordinator creating the ${creates} layout commits and aborts transactions begun in each`, async function () {
      const schema = await migratedSchema(import.meta.url, `mixed-${creates}`);
      const [a, b] = await Promise.all([
        fleet.start(`m-${creates}-a`),
        fleet.start(`m-${creates}-b`),
      ]);
      assert.ok(a !== undefined && b !== undefined);
      // Begun (and one enlisted by call) by stores of either layout, as
      // coordinators of two releases sharing the log would.
      const begun: { txnId: TxId; layout: LogLayout }[] = [];
      for (const layout of [LogLayout.ROWS, LogLayout.FOLDED]) {
        const other = await storeCreating(schema, layout);
        try {
          await other.registerCoordinator(LIVE, 'elsewhere', 600_000);
          for (let i = 0; i < 2; i++) {
            const txnId = other.newTxnId();
            await other.begin(beginInput(txnId, [a.ref]));
            await other.enlist(txnId, b.name, b.ref.endpoint);
            begun.push({ txnId, layout });
          }
        } finally {
          await other.close();
        }
      }
      const h = await coordinatorCreating(schema, creates);
      try {
        for (const [i, { txnId, layout }] of begun.entries()) {
          assert.equal(await layoutOf(schema, txnId), layout);
          if (i % 2 === 0) {
            const answer = await h.client.commit(txnId, { waitForAcks: true });
            assert.equal(answer.outcome, 'COMMITTED', `${layout} ${txnId}`);
            assert.equal(a.callsOf('Commit', txnId).length, 1);
            assert.equal(b.callsOf('Commit', txnId).length, 1);
          } else {
            assert.equal((await h.client.abort(txnId)).outcome, 'ABORTED');
          }
          const view = await h.client.get(txnId);
          assert.deepEqual(
            view.participants.map((p) => p.name),
            [a.name, b.name],
          );
        }
        const { txnId } = await h.client.begin({ participants: [a.ref, b.ref] });
        assert.equal(await layoutOf(schema, txnId), creates);
      } finally {
        await h.stop();
      }
    });
  }
});

describe('a coordinator killed with SIGKILL mid phase 2 of a folded transaction', function () {
  this.timeout(90_000);
  const fleet = new FakeFleet();
  let current: TwopcProcess | null = null;
  afterEach(async function () {
    await current?.kill('SIGKILL');
    current = null;
    await fleet.stopAll();
  });

  it('is finished after the restart, by a coordinator creating either layout', async function () {
    const schema = await migratedSchema(import.meta.url, 'sigkill');
    const env = await restartableEnv(schema, 'layout-kill', {
      TWOPC_PREPARE_TIMEOUT_MS: '30000',
    });
    const start = async (layout: LogLayout): Promise<TwopcClient> => {
      current = new TwopcProcess(['serve'], { ...env, TWOPC_INTERNAL_LOG_LAYOUT: layout });
      return new TwopcClient(await current.serving(), { attempts: 1 });
    };
    const a = await fleet.start('kill-a');
    const b = await fleet.start('kill-b');
    const c = await fleet.start('kill-c', { failCommitTimes: 1_000_000 });
    const client = await start(LogLayout.FOLDED);
    const { txnId } = await client.begin({ participants: [a.ref, b.ref, c.ref] });
    assert.equal(await layoutOf(schema, txnId), LogLayout.FOLDED);
    assert.equal((await client.commit(txnId)).outcome, 'COMMITTED');
    await c.waitFor((x) => x.method === 'Commit' && x.txnId === txnId);
    await current?.kill('SIGKILL');
    client.close();
    const [row] = await sql<{ state: string }>(
      schema,
      'SELECT state FROM twopc_transactions WHERE txn_id = $1',
      [txnId],
    );
    assert.equal(row?.state, 'COMMITTING', 'the decision is durable');

    // The restarted coordinator creates the rows layout: the release before
    // the flip finishing what the release after it began.
    const again = await start(LogLayout.ROWS);
    try {
      await eventually(
        async () => (await again.get(txnId)).participants.some((p) => p.attempts > 0),
        20_000,
        'the recovery run retried the silent participant',
      );
      c.behaviour = {};
      const tx = await eventually(
        async () => {
          const t = await again.get(txnId);
          return t.state === 'COMMITTED' ? t : null;
        },
        20_000,
        'recovery commit',
      );
      assert.ok(tx.participants.every((p) => p.acknowledged));
      for (const p of [a, b, c]) {
        assert.ok(p.callsOf('Commit', txnId).length >= 1, `${p.name} was not told to commit`);
        assert.equal(p.callsOf('Abort', txnId).length, 0);
      }
      const { txnId: next } = await again.begin({ participants: [a.ref] });
      assert.equal(await layoutOf(schema, next), LogLayout.ROWS);
    } finally {
      again.close();
    }
  });
});
