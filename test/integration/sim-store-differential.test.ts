import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TxId, TxRecord } from '../../src/core/tx-record.ts';
import { newParticipant } from '../../src/core/tx-record.ts';
import type { PgTransactionStore } from '../../src/store/pg-transaction-store.ts';
import type { TransactionStore, TxView } from '../../src/store/transaction-store.ts';
import { TxState, Vote } from 'twopc/internal/contract/tx-state';
import { migratedSchema, sql, storeOver } from '../support/db.ts';
import { SimLog } from '../sim/sim-log.ts';
import type { SimProcessRef } from '../sim/sim-log.ts';
import { SimRandom } from '../sim/sim-random.ts';
import { SimScheduler } from '../sim/sim-scheduler.ts';
import { SimStore } from '../sim/sim-store.ts';

/**
 * The simulation's log is a model of the PostgreSQL store's statements:
 * this test keeps the two from drifting. Random sequences of operations
 * (begin, enlist, the commit claim, conditional decisions and completions,
 * one-phase confirmations, recovery claims, the store restarting, answers
 * ignored as if lost) run through both, and every answer and every row
 * must agree. A clause dropped from a statement of pg-queries.ts (the
 * incarnation fence, write-once, the one-phase claim) makes them differ.
 */
const SEQUENCES = Number(process.env.TWOPC_DIFFERENTIAL_SEQUENCES ?? 40);
const OPS = 40;
const NAMES = ['a', 'b', 'c'];
const STATES = [TxState.COMMITTING, TxState.ABORTING, TxState.COMMITTED, TxState.ABORTED];
const VOTES = [null, Vote.PREPARED, Vote.ABORT, Vote.READ_ONLY];

/** The simulated store on its own scheduler, with no faults: every call is run to its answer. */
class SimSide {
  readonly sched: SimScheduler;
  readonly log: SimLog;
  readonly store: SimStore;

  constructor(seed: number) {
    this.sched = new SimScheduler(new SimRandom(seed, 2));
    this.log = new SimLog(this.sched, () => undefined);
    const proc: SimProcessRef = {
      alive: true,
      cutFromLog: false,
      cutFrom: () => false,
      deliver: (fn) => fn(),
    };
    this.store = new SimStore(this.log, this.sched, proc);
  }

  async call<T>(work: (s: TransactionStore) => Promise<T>): Promise<T> {
    let settled = false;
    const p = work(this.store).finally(() => {
      settled = true;
    });
    p.catch(() => undefined);
    await this.sched.run(Infinity, () => settled);
    return p;
  }

  /** PostgreSQL restarts after a crash: here every write was flushed, the incarnation is gone. */
  async restart(): Promise<void> {
    await this.call(() => this.store.makeDurable(randomUUID() as TxId)); // flushes every write
    this.log.crash();
  }
}

type Answer = { ok: unknown } | { error: string };

async function answer(work: () => Promise<unknown>): Promise<Answer> {
  try {
    return { ok: normalize(await work()) };
  } catch (err) {
    return { error: (err as Error).constructor.name };
  }
}

/** What both stores must agree on (times and ids of rows differ by nature). */
function normalize(value: unknown): unknown {
  if (value === null || typeof value !== 'object') {
    return value;
  }
  if (Array.isArray(value)) {
    return value.map(normalize).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  if ('dbNow' in value) {
    const v = value as TxView;
    return {
      txnId: v.txnId,
      state: v.state,
      reason: v.reason,
      onePhase: v.onePhase,
      ownerId: v.ownerId,
      participants: v.participants
        .map((p) => ({
          name: p.name,
          endpoint: p.endpoint,
          vote: p.vote,
          voteReason: p.voteReason,
          acked: p.ackedAt !== null,
          heuristic: p.heuristic,
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    };
  }
  if ('leaseExpiresAt' in value) {
    const { leaseExpiresAt: _, ...rest } = value as { leaseExpiresAt: unknown };
    return rest;
  }
  if ('storeIntact' in value) {
    const v = value as { participants: { name: string }[]; storeIntact: boolean; txnId: string };
    return {
      txnId: v.txnId,
      storeIntact: v.storeIntact,
      participants: v.participants.map((p) => p.name).sort(),
    };
  }
  return value;
}

/** A random operation, the same for both stores. */
interface Op {
  readonly what: string;
  readonly run: (s: TransactionStore) => Promise<unknown>;
  /** The answer is lost (ambiguous): only its effect on later answers is compared. */
  readonly lost: boolean;
}

/** One random operation; a transaction id is begun once (ids are never reused). */
function randomOp(
  rnd: SimRandom,
  txs: readonly TxId[],
  owners: readonly string[],
  begun: Set<TxId>,
): Op | 'restart' {
  const tx = rnd.pick(txs);
  const name = rnd.pick(NAMES);
  const lost = rnd.chance(0.1);
  const dice = rnd.int(0, 11);
  if (dice === 11) {
    return 'restart';
  }
  const participants = NAMES.filter(() => rnd.chance(0.5)).map((n) => ({
    ...newParticipant(n, `${n}:1`),
    vote: rnd.pick(VOTES),
    acked: rnd.chance(0.3),
  }));
  // Everything drawn here, before either store runs the operation.
  const owner = rnd.pick(owners);
  const flag = rnd.chance(0.5);
  const decided = rnd.pick(STATES);
  const finished = rnd.pick([TxState.COMMITTED, TxState.ABORTED]);
  const from = rnd.pick([TxState.PREPARING, TxState.COMMITTING, TxState.ABORTING]);
  const record = (state: TxState): TxRecord => ({
    txnId: tx,
    state,
    reason: rnd.chance(0.5) ? 'why' : null,
    onePhase: rnd.chance(0.3),
    participants,
  });
  const decision = record(decided);
  const completion = record(finished);
  const ops: Op[] = [
    {
      what: `begin ${tx}`,
      lost,
      run: (s) =>
        s.begin({
          txnId: tx,
          leaseMs: 600_000,
          labels: {},
          participants: participants
            .slice(0, 1)
            .map((p) => ({ name: p.name, endpoint: p.endpoint })),
          ownerId: owner,
          traceContext: null,
          tenant: 'default',
          principal: null,
        }),
    },
    { what: `enlist ${name} in ${tx}`, lost, run: (s) => s.enlist(tx, name, `${name}:1`) },
    {
      what: `enlist ${name} in ${tx} elsewhere`,
      lost,
      run: (s) => s.enlist(tx, name, `${name}:2`),
    },
    {
      what: `startPreparing ${tx}`,
      lost,
      run: (s) => s.startPreparing(tx, owner, flag),
    },
    {
      what: `recordDecision ${tx}`,
      lost,
      run: (s) => s.recordDecision(decision),
    },
    { what: `confirmOnePhase ${tx}`, lost, run: (s) => s.confirmOnePhase(tx) },
    {
      what: `recordCompletion ${tx}`,
      lost,
      run: (s) => s.recordCompletion(completion, from, flag),
    },
    { what: `heartbeat ${tx}`, lost, run: (s) => s.heartbeat(tx, null) },
    { what: `makeDurable ${tx}`, lost, run: (s) => s.makeDurable(tx) },
    {
      what: 'claimOrphans',
      lost,
      run: (s) => s.claimOrphans(owner, 10),
    },
    {
      what: 'registerCoordinator',
      lost,
      run: (s) => s.registerCoordinator(owner, owner, 600_000),
    },
  ];
  const op = rnd.pick(ops);
  if (op === ops[0]) {
    if (begun.has(tx)) {
      return ops[1] ?? op;
    }
    begun.add(tx);
  }
  return op;
}

describe('the simulated log agrees with the PostgreSQL store (differential)', function () {
  let schema: string;
  let pgStore: PgTransactionStore;

  before(async function () {
    this.timeout(60_000);
    schema = await migratedSchema(import.meta.url);
    pgStore = await storeOver(schema);
  });

  after(async function () {
    await pgStore?.close();
  });

  it(`gives the same answers and rows for ${SEQUENCES} random sequences of ${OPS} operations`, async function () {
    this.timeout(Math.max(60_000, SEQUENCES * 3_000));
    for (let seq = 1; seq <= SEQUENCES; seq++) {
      const rnd = new SimRandom(seq, 3);
      const sim = new SimSide(seq);
      const txs = [randomUUID(), randomUUID(), randomUUID()] as TxId[];
      const owners = [randomUUID(), randomUUID()];
      const done: string[] = [];
      const begun = new Set<TxId>();
      await sql(
        schema,
        'TRUNCATE twopc_operator_actions, twopc_participants, twopc_transactions, twopc_coordinators, twopc_store_incarnation',
      );
      for (let i = 0; i < OPS; i++) {
        const op = randomOp(rnd, txs, owners, begun);
        if (op === 'restart') {
          done.push('the store restarts');
          await sim.restart();
          await sql(schema, 'DELETE FROM twopc_store_incarnation');
          continue;
        }
        done.push(op.what);
        const [real, model] = [
          await answer(() => op.run(pgStore)),
          await answer(() => sim.call(op.run)),
        ];
        if (!op.lost) {
          assert.deepEqual(model, real, `sequence ${seq}, after:\n  ${done.join('\n  ')}`);
        }
        for (const tx of txs) {
          const rows = [
            await answer(() => pgStore.get(tx)),
            await answer(() => sim.call((s) => s.get(tx))),
          ];
          assert.deepEqual(
            rows[1],
            rows[0],
            `row of ${tx}, sequence ${seq}, after:\n  ${done.join('\n  ')}`,
          );
        }
      }
    }
  });
});
