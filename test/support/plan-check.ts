import assert from 'node:assert/strict';
import pg from 'pg';
import type { PoolClient } from 'pg';
import { createPools, keepsGenericPlans } from '../../src/store/pg-pools.ts';
import type { StorePools } from '../../src/store/pg-pools.ts';
import { TxExistsError } from 'twopc/internal/contract/errors';
import { PgTransactionStore } from '../../src/store/pg-transaction-store.ts';
import { LogLayout } from '../../src/store/log-layout.ts';
import type { TxId } from '../../src/core/tx-record.ts';
import type { ListFilter } from '../../src/store/transaction-store.ts';
import { SQL } from '../../src/store/pg-queries.ts';
import type { QueryName } from '../../src/store/pg-queries.ts';
import { startCoordinator } from './coordinator-harness.ts';
import { FakeFleet } from './fake-participant.ts';
import { LIST_ALL } from './list-filter.ts';

/** One statement the store sent, with the values it sent it with. */
export interface Captured {
  /** The statement's name in pg-queries.ts (or its list shape). */
  readonly name: string;
  readonly text: string;
  readonly values: readonly unknown[];
  /** Sent as a prepared statement while its connection may keep a generic plan (see PlanPolicy). */
  readonly prepared: boolean;
}

/** The name of a statement of the store from its text (as sent: names qualified by schema). */
function nameOf(text: string): string {
  const bare = text.replace(/[a-z_][a-z0-9_]*\.(?=twopc_)/g, '');
  const known = (Object.keys(SQL) as QueryName[]).find((n) => SQL[n] === bare);
  return known !== undefined ? `twopc_${known}` : `list#${text.length}`;
}

/** Tables that grow with the log: a sequential scan of one is a plan gone wrong. */
const GROWING = ['twopc_transactions', 'twopc_participants'];

/**
 * Records every statement with values sent through any pg.Client of this
 * process until `stop`, the last sending of each text. It observes the real
 * driver; nothing is answered in its place.
 */
export function captureStatements(): {
  statements: Map<string, Captured>;
  answered: Set<string>;
  stop: () => void;
} {
  const statements = new Map<string, Captured>();
  const answered = new Set<string>();
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: pg.Client, ...args: unknown[]): unknown {
    const [config] = args;
    const result = original.apply(this, args);
    if (typeof config === 'object' && config !== null && 'text' in config) {
      const c = config as { name?: string; text: string; values?: unknown[] };
      const name = c.name ?? nameOf(c.text);
      statements.set(c.text, {
        name,
        text: c.text,
        values: c.values ?? [],
        prepared: c.name !== undefined && keepsGenericPlans(this),
      });
      void (result as Promise<unknown>).then(
        () => answered.add(name),
        () => undefined,
      );
    }
    return result;
  };
  return { statements, answered, stop: () => void (proto.query = original) };
}

/** The list shapes an operator uses (CLI, console, API). */
export const LIST_SHAPES: Partial<ListFilter>[] = [
  {},
  { tenant: 'default' },
  { states: ['ABORTED'] },
  { states: ['PREPARING', 'COMMITTING'] },
  { labels: { batch: 'nightly' } },
  { participant: 'svc-0' },
  { stuckAfterMs: 60_000 },
  { heuristicOnly: true },
  { minAgeSeconds: 3600 },
  { after: { createdAt: new Date(), txnId: '00000000-0000-4000-8000-000000000000' } },
];

/**
 * Drives every statement of the store once, with real values, through a real
 * coordinator (Begin, Enlist, commits in two phases and one, aborts, lists)
 * and the store's maintenance calls, and returns what was sent, by name.
 * Fails if a statement of pg-queries.ts was never sent, so a new statement
 * cannot escape the plan checks.
 */
export async function driveEveryStatement(url: string, schema: string): Promise<Captured[]> {
  const capture = captureStatements();
  const fleet = new FakeFleet();
  try {
    const h = await startCoordinator(schema, {
      databaseUrl: url,
    });
    try {
      // The coordinator reads the log's size with its incarnation at start
      // (it decides whether statements are prepared): the drive begins after.
      while (!capture.answered.has('twopc_incarnation')) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const [a, b] = await Promise.all([fleet.start('svc-0'), fleet.start('svc-1')]);
      assert.ok(a !== undefined && b !== undefined);
      const two = await h.client.begin({ labels: { batch: 'nightly' } });
      await h.client.enlist(two.txnId, a.ref);
      await h.client.enlist(two.txnId, b.ref);
      await h.client.heartbeat(two.txnId);
      await h.client.commit(two.txnId, { waitForAcks: true });
      const one = await h.client.begin({ participants: [a.ref] });
      await h.client.commit(one.txnId, { waitForAcks: true });
      const aborted = await h.client.begin({ participants: [a.ref, b.ref] });
      await h.client.abort(aborted.txnId, 'plan check');
      await h.client.get(two.txnId);
    } finally {
      await h.stop();
    }
  } finally {
    await fleet.stopAll();
  }
  const store = new PgTransactionStore(
    createPools({ url, schema, maxConnections: 2, onError: () => undefined }),
  );
  try {
    await store.incarnation(); // the log's size, as a coordinator's maintenance reads it first
    const id = store.newTxnId();
    const input = {
      txnId: id,
      labels: {},
      leaseMs: 60_000,
      participants: [{ name: 'svc-0', endpoint: '127.0.0.1:1' }],
      ownerId: '00000000-0000-4000-8000-000000000001',
      traceContext: null,
      tenant: 'default',
      principal: null,
    };
    await store.begin(input);
    // An id given twice: the plain INSERT fails, the batch goes again with ON CONFLICT.
    await assert.rejects(store.begin(input), TxExistsError);
    await store.recordDeliveryFailure(id, 'svc-0', 1, 'plan check', 1000);
    await store.recordOperatorAction(id, 'RETRY', null, 'plan check', null);
    const resolution = { txnId: id, participant: 'svc-0', detail: 'plan check', principal: null };
    await store.claimResolution({ ...resolution, final: null });
    await store.claimResolution({ ...resolution, final: { state: 'ABORTED', reason: null } });
    await store.access(id, 'svc-0');
    await store.openCount(null);
    await store.openCount('default');
    await store.backlog(60_000);
    await store.incarnation();
    await store.ownStale('00000000-0000-4000-8000-000000000001', 1000, 10);
    await store.expireLeases('00000000-0000-4000-8000-000000000001', 10);
    await store.claimOrphans('00000000-0000-4000-8000-000000000001', 10);
    await store.registerCoordinator('00000000-0000-4000-8000-000000000002', 'plan-check', 1000);
    await store.renewCoordinator('00000000-0000-4000-8000-000000000002', 1000);
    await store.deregisterCoordinator('00000000-0000-4000-8000-000000000002');
    await store.deleteFinished(3_600_000, 100);
    await store.makeDurable(id);
    await store.recordAck(id, 'svc-0', null);
    for (const shape of LIST_SHAPES) {
      await store.list({ ...LIST_ALL, ...shape });
    }
  } finally {
    await store.close();
    capture.stop();
  }
  const sent = [...capture.statements.values()];
  const names = new Set(sent.map((s) => s.name));
  // participantsOf is read only when an Enlist races a Commit: sent here by hand.
  if (!names.has('twopc_participantsOf')) {
    const first = sent.find((s) => s.name === 'twopc_get');
    sent.push({
      name: 'twopc_participantsOf',
      text: SQL.participantsOf,
      values: first?.values ?? [],
      prepared: first?.prepared ?? false,
    });
  }
  const missing = (Object.keys(SQL) as QueryName[]).filter(
    (n) => !sent.some((s) => s.name === `twopc_${n}`),
  );
  assert.deepEqual(missing, [], 'statements of the store the plan checks never saw sent');
  return [...sent, ...(await driveFolded(url, schema))];
}

/**
 * The statements that read or write a transaction's participants, sent over
 * transactions of the folded layout (log-layout.ts): named `…_folded`, so
 * that both layouts' values are planned.
 */
async function driveFolded(url: string, schema: string): Promise<Captured[]> {
  const capture = captureStatements();
  const store = new PgTransactionStore(
    createPools({ url, schema, maxConnections: 2, onError: () => undefined }),
    undefined,
    undefined,
    LogLayout.FOLDED,
  );
  const owner = '00000000-0000-4000-8000-000000000003';
  try {
    await store.incarnation();
    const begin = async (names: string[]): Promise<TxId> => {
      const id = store.newTxnId();
      await store.begin({
        txnId: id,
        labels: {},
        leaseMs: 60_000,
        participants: names.map((name) => ({ name, endpoint: '127.0.0.1:1' })),
        ownerId: owner,
        traceContext: null,
        tenant: 'default',
        principal: null,
      });
      return id;
    };
    const id = await begin(['svc-0', 'svc-1']);
    await store.enlist(id, 'svc-2', '127.0.0.1:1');
    const tx = await store.startPreparing(id, owner, false);
    assert.ok(tx !== null);
    const participants = tx.participants.map((p, i) => ({
      ...p,
      vote: i === 0 ? ('ABORT' as const) : ('PREPARED' as const),
      voteReason: i === 0 ? 'plan check' : null,
    }));
    await store.recordDecision({ ...tx, state: 'ABORTING', reason: 'plan check', participants });
    await store.recordDeliveryFailure(id, 'svc-1', 1, 'plan check', 1000);
    await store.recordAck(id, 'svc-1', 'COMMITTED');
    await store.claimResolution({
      txnId: id,
      participant: 'svc-2',
      detail: 'plan check',
      principal: null,
      final: null,
    });
    // Completed apart: a completion drops the queued acknowledgements of its transaction.
    const other = await begin(['svc-0', 'svc-1']);
    const claimed = await store.startPreparing(other, owner, false);
    assert.ok(claimed !== null);
    const aborting = { ...claimed, state: 'ABORTING' as const, reason: 'plan check' };
    await store.recordDecision(aborting);
    const done = claimed.participants.map((p, i) => ({
      ...p,
      acked: true,
      heuristic: i === 0 ? ('COMMITTED' as const) : null,
    }));
    await store.recordCompletion(
      { ...aborting, state: 'ABORTED', participants: done },
      'ABORTING',
      false,
    );
    await store.access(id, 'svc-0');
    await store.get(id);
    for (const shape of LIST_SHAPES) {
      await store.list({ ...LIST_ALL, ...shape });
    }
  } finally {
    await store.close();
    capture.stop();
  }
  return [...capture.statements.values()].map((s) => ({ ...s, name: `${s.name}_folded` }));
}

/**
 * Fills a migrated log with `n` finished transactions (two participants
 * each, a label on some, several tenants, a few heuristic outcomes) and
 * `open` unfinished ones, as a log in production holds them.
 */
export async function fillLog(
  client: pg.ClientBase,
  schema: string,
  n: number,
  open: number,
): Promise<void> {
  await client.query(`SET search_path TO ${schema}`);
  await client.query(
    `INSERT INTO twopc_transactions
       (txn_id, state, reason, labels, lease_ms, lease_expires_at, participant_count, created_at,
        updated_at, decided_at, finished_at, tenant, store_token)
     SELECT gen_random_uuid(),
       CASE WHEN i <= $2 THEN (ARRAY['ACTIVE','PREPARING','COMMITTING','ABORTING'])[1 + i % 4]
            WHEN i % 10 = 0 THEN 'ABORTED' ELSE 'COMMITTED' END,
       NULL,
       CASE WHEN i % 7 = 0 THEN '{"batch":"nightly"}'::jsonb ELSE '{}'::jsonb END,
       60000, now() + interval '60 s', 2,
       now() - make_interval(secs => i * 0.01), now() - make_interval(secs => i * 0.01),
       CASE WHEN i > $2 OR i % 4 >= 2 THEN now() - make_interval(secs => i * 0.01) END,
       CASE WHEN i > $2 THEN now() - make_interval(secs => i * 0.01) END,
       (ARRAY['default','acme','globex'])[1 + i % 3],
       (SELECT token FROM twopc_store_incarnation)
     FROM generate_series(1, $1::integer) AS i`,
    [n + open, open],
  );
  await client.query(
    `INSERT INTO twopc_participants (txn_id, name, endpoint, vote, acked_at, heuristic)
     SELECT t.txn_id, p.name, '127.0.0.1:1', 'PREPARED',
       CASE WHEN t.finished_at IS NOT NULL THEN now() END,
       CASE WHEN t.finished_at IS NOT NULL AND random() < 0.0005 THEN 'ABORTED' END
     FROM twopc_transactions t, (VALUES ('svc-0'), ('svc-1')) AS p(name)
     ON CONFLICT DO NOTHING`,
  );
}

/** A plan's root: total cost, whether it was JIT-compiled, the tables it scans sequentially. */
interface PlanSummary {
  readonly cost: number;
  readonly jit: boolean;
  readonly seqScans: string[];
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Total Cost': number;
  Plans?: PlanNode[];
}

function summarise(json: unknown): PlanSummary {
  const [root] = json as [{ Plan: PlanNode; JIT?: unknown }];
  assert.ok(root !== undefined);
  const seqScans: string[] = [];
  const walk = (node: PlanNode): void => {
    if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] !== undefined) {
      seqScans.push(node['Relation Name']);
    }
    node.Plans?.forEach(walk);
  };
  walk(root.Plan);
  return { cost: root.Plan['Total Cost'], jit: root.JIT !== undefined, seqScans };
}

/** A value as a SQL literal of `type` (for EXECUTE, which takes no parameters). */
function literal(client: PoolClient, value: unknown, type: string): string {
  const text = (v: unknown): string =>
    v === null || v === undefined
      ? 'NULL'
      : v instanceof Date
        ? client.escapeLiteral(v.toISOString())
        : typeof v === 'string'
          ? client.escapeLiteral(v)
          : typeof v === 'object'
            ? client.escapeLiteral(JSON.stringify(v))
            : String(v);
  if (Array.isArray(value)) {
    return `ARRAY[${value.map(text).join(', ')}]::${type}`;
  }
  return `${text(value)}::${type}`;
}

/** What one statement's plans look like on a connection of the store's pools. */
export interface StatementPlans {
  readonly name: string;
  readonly custom: PlanSummary;
  /** null: never prepared, so planned with its values each time. */
  readonly generic: PlanSummary | null;
}

/**
 * Plans every captured statement on a connection of the coordinator's own
 * pools (so with its session settings): the custom plan for the captured
 * values and the generic plan a prepared statement keeps after its fifth
 * run. With `analyze`, each is executed (inside a transaction rolled back)
 * so that JIT shows if PostgreSQL would compile it.
 */
export async function planEvery(
  url: string,
  schema: string,
  statements: readonly Captured[],
  analyze: boolean,
  grow?: () => Promise<void>,
): Promise<{ plans: StatementPlans[]; jitAboveCost: number }> {
  const pools: StorePools = createPools({
    url,
    schema,
    maxConnections: 2,
    onError: () => undefined,
  });
  const client = await pools.forced.connect();
  try {
    const [setting] = (
      await client.query<{ cost: string }>(`SELECT current_setting('jit_above_cost') AS cost`)
    ).rows;
    const jitAboveCost = Number(setting?.cost);
    const plans: StatementPlans[] = [];
    /**
     * EXPLAIN (ANALYZE when asked) of `text`; a statement that cannot run
     * here as captured (a Begin of an id already in the log) is planned
     * without running it.
     */
    const plan = async (text: string, values: readonly unknown[]): Promise<PlanSummary> => {
      if (analyze) {
        await client.query('SAVEPOINT plan');
        try {
          const res = await client.query({
            text: `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
            values: [...values],
          });
          return summarise((res.rows[0] as { 'QUERY PLAN': unknown })['QUERY PLAN']);
        } catch {
          await client.query('ROLLBACK TO SAVEPOINT plan');
        }
      }
      const res = await client.query({
        text: `EXPLAIN (FORMAT JSON) ${text}`,
        values: [...values],
      });
      return summarise((res.rows[0] as { 'QUERY PLAN': unknown })['QUERY PLAN']);
    };
    // Each statement prepared as the pools' connections prepare it, its
    // generic plan made now (with `grow`: while the log is still small, as on
    // a new log), then planned after the log grew: a cached plan is kept
    // until something invalidates it, whatever the table's size by then.
    const prepared = new Map<Captured, string>();
    for (const s of statements.filter((x) => x.prepared)) {
      const name = `plancheck_${s.name}`;
      await client.query(`PREPARE "${name}" AS ${s.text}`);
      const typeList = (
        await client.query<{ t: string }>(
          `SELECT u.t::text AS t FROM pg_prepared_statements,
             unnest(parameter_types) WITH ORDINALITY AS u(t, i) WHERE name = $1 ORDER BY u.i`,
          [name],
        )
      ).rows.map((r) => r.t);
      const args = s.values.map((v, i) => literal(client, v, typeList[i] ?? 'text'));
      const execute = `EXECUTE "${name}"${args.length > 0 ? `(${args.join(', ')})` : ''}`;
      await client.query('SET plan_cache_mode = force_generic_plan');
      await client.query(`EXPLAIN ${execute}`);
      await client.query('RESET plan_cache_mode');
      prepared.set(s, execute);
    }
    await grow?.();
    try {
      for (const s of statements) {
        await client.query('BEGIN');
        try {
          const custom = await plan(s.text, s.values);
          const execute = prepared.get(s);
          let generic: PlanSummary | null = null;
          if (execute !== undefined) {
            await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
            generic = await plan(execute, []);
          }
          plans.push({ name: s.name, custom, generic });
        } finally {
          await client.query('ROLLBACK');
        }
      }
    } finally {
      await client.query('DEALLOCATE ALL');
    }
    return { plans, jitAboveCost };
  } finally {
    client.release(true);
    await Promise.all([pools.forced.end(), pools.lazy.end()]);
  }
}

/** Everything wrong with the plans, one line each (empty: all good). */
export function planProblems(plans: readonly StatementPlans[], jitAboveCost: number): string[] {
  const problems: string[] = [];
  for (const p of plans) {
    for (const [kind, plan] of [
      ['custom', p.custom],
      ['generic', p.generic],
    ] as const) {
      if (plan === null) {
        continue;
      }
      if (plan.cost >= 1e9) {
        problems.push(
          `${p.name} (${kind}): cost ${plan.cost.toExponential(2)} carries a disable cost`,
        );
      } else if (jitAboveCost >= 0 && plan.cost >= jitAboveCost) {
        problems.push(
          `${p.name} (${kind}): cost ${plan.cost.toFixed(0)} ≥ jit_above_cost ${jitAboveCost}: JIT-compiled on a server with JIT`,
        );
      }
      if (plan.jit) {
        problems.push(`${p.name} (${kind}): EXPLAIN ANALYZE shows JIT`);
      }
      const grown = plan.seqScans.filter((t) => GROWING.includes(t));
      if (grown.length > 0) {
        problems.push(`${p.name} (${kind}): sequential scan of ${grown.join(', ')}`);
      }
    }
  }
  return problems;
}
