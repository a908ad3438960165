import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { awaitRun } from '../../src/coordinator/commit-wait.ts';
import { durableRead } from '../../src/coordinator/persist.ts';
import type { RunDeps } from '../../src/coordinator/run-deps.ts';
import type { TxRun } from '../../src/coordinator/tx-run.ts';
import type { TxId } from '../../src/core/tx-record.ts';
import type { TransactionStore } from '../../src/store/transaction-store.ts';
import { TxState } from 'twopc/internal/contract/tx-state';
import { SimLog } from '../sim/sim-log.ts';
import { SimRandom } from '../sim/sim-random.ts';
import { SimScheduler } from '../sim/sim-scheduler.ts';
import { SimStore } from '../sim/sim-store.ts';

/**
 * Two interleavings the simulation found, pinned: each is one exact
 * schedule of the simulated log (a write another process made visible
 * before it was durable; a store stall after the caller stopped waiting).
 */
describe('reading back a row, and waiting on a run (pinned interleavings)', function () {
  it('makes durable the state it reads, though another process wrote it visible but not durable', async function () {
    const sched = new SimScheduler(new SimRandom(1));
    const log = new SimLog(sched, () => undefined);
    const proc = {
      alive: true,
      cutFromLog: false,
      cutFrom: () => false,
      deliver: (f: () => void) => f(),
    };
    const sim = new SimStore(log, sched, proc);
    const txnId = randomUUID() as TxId;
    const drive = async <T>(p: Promise<T>): Promise<T> => {
      let done = false;
      void p.finally(() => (done = true)).catch(() => undefined);
      await sched.run(Infinity, () => done);
      return p;
    };
    await drive(
      sim.begin({
        txnId,
        leaseMs: 60_000,
        labels: {},
        participants: [],
        ownerId: 'a',
        traceContext: null,
        tenant: 't',
        principal: null,
      }),
    );
    await drive(sim.makeDurable(txnId)); // the Begin is durable
    // After the first statement of the read-back, another process's decision
    // commits and is visible, and its flush is cut short.
    let calls = 0;
    const store = new Proxy(sim, {
      get(target, key, receiver) {
        const value: unknown = Reflect.get(target, key, receiver);
        if (key !== 'get' && key !== 'makeDurable') {
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        }
        return async (id: TxId) => {
          const result: unknown = await (value as (id: TxId) => Promise<unknown>).call(target, id);
          if (++calls === 1) {
            log.write((t) => {
              const r = t.rows.get(id);
              if (r !== undefined) {
                r.state = TxState.ABORTED;
              }
            });
          }
          return result;
        };
      },
    }) as TransactionStore;
    // Only the store is read (a cast: the rest of the run's dependencies play no part).
    const deps = { store } as unknown as RunDeps;
    const view = await drive(durableRead(deps, txnId));
    assert.equal(view?.state, TxState.ABORTED);
    assert.equal(log.durable.rows.get(txnId)?.state, view?.state, 'what was read is durable');
  });

  it('leaves no rejection unhandled when the run stalls after the caller gave up', async function () {
    let stall: (err: Error) => void = () => undefined;
    const run = {
      nextStall: () => new Promise<Error>((resolve) => (stall = resolve)),
    } as unknown as TxRun; // only nextStall is used
    const unhandled: unknown[] = [];
    const record = (err: unknown): void => void unhandled.push(err);
    process.on('unhandledRejection', record);
    try {
      const gone = AbortSignal.abort(); // the caller's deadline passed before it waited
      await assert.rejects(awaitRun(run, new Promise<never>(() => undefined), gone));
      stall(new Error('the log failed'));
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', record);
    }
    assert.deepEqual(unhandled, []);
  });
});
