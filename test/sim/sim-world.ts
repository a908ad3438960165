import { metrics } from '@opentelemetry/api';
import { outcomeOf } from '../../src/core/decide.ts';
import { TxNotFoundError } from 'twopc/internal/contract/errors';
import type { TxId } from '../../src/core/tx-record.ts';
import { Outcome, TxState, isTerminal } from 'twopc/internal/contract/tx-state';
import { Coordinator } from '../../src/coordinator/coordinator.ts';
import { Maintenance } from '../../src/coordinator/maintenance.ts';
import { operatorAbort, retryNow } from '../../src/coordinator/operator-actions.ts';
import { HealthMonitor } from '../../src/participant/health-monitor.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { TwopcMetrics } from '../../src/telemetry/metrics.ts';
import { WarnLimiter } from '../../src/telemetry/warn-limiter.ts';
import type { Clock } from 'twopc/internal/time/clock';
import { sleep } from 'twopc/internal/time/clock';
import { deadlineSignal } from 'twopc/internal/time/deadline-signal';
import { SimLog } from './sim-log.ts';
import type { SimProcessRef } from './sim-log.ts';
import { SimNetwork, SimParticipant } from './sim-participants.ts';
import { SimRandom } from './sim-random.ts';
import { SimScheduler } from './sim-scheduler.ts';
import { SimStore } from './sim-store.ts';

/** What one simulated run found. */
export interface SimResult {
  readonly seed: number;
  readonly violations: readonly string[];
  /** What happened, in simulated time (printed for a failing seed). */
  readonly trace: readonly string[];
  readonly transactions: number;
  readonly steps: number;
  readonly simulatedMs: number;
}

/** Faults happen until then; afterwards everything heals and the run must finish. */
const HEAL_AT_MS = 12_000;
/** A run that has not finished by then has left something unfinished. */
const GIVE_UP_AT_MS = 240_000;
const TRACE_MAX = 600;

/** A coordinator process: its parts, and whether it still lives. */
class SimProcess implements SimProcessRef {
  alive = true;
  readonly name: string;
  readonly clock: Clock;
  readonly coordinator: Coordinator;
  readonly maintenance: Maintenance;

  constructor(world: SimWorld, name: string) {
    this.name = name;
    const sched = world.sched;
    this.clock = {
      now: () => sched.now(),
      setTimeout: (fn, ms) =>
        sched.setTimeout(() => {
          if (this.alive) {
            fn();
          }
        }, ms),
    };
    const store = new SimStore(world.log, sched, this);
    const net = new SimNetwork(sched, this, world.participants, world);
    const health = new HealthMonitor(net, this.clock, { intervalMs: 200, missLimit: 3 });
    const log = silentLogger();
    this.coordinator = new Coordinator(
      {
        store,
        participants: net,
        health,
        clock: this.clock,
        log,
        metrics: new TwopcMetrics(metrics.getMeter('twopc-sim')),
        warnings: new WarnLimiter(this.clock),
        random: () => sched.random.float(),
        config: {
          prepareTimeoutMs: 2_000,
          callTimeoutMs: 500,
          retry: { baseMs: 20, capMs: 1_000 },
          onePhase: true,
          earlyPrepare: true,
          abortAttempts: 10,
        },
      },
      { defaultMs: 3_000, maxMs: 60_000, stuckAfterMs: 30_000 },
    );
    this.maintenance = new Maintenance(
      store,
      this.coordinator,
      this.clock,
      log,
      {
        sweepIntervalMs: 100,
        recoveryIntervalMs: 500,
        coordinatorLeaseMs: 2_000,
        retentionMs: 1e12,
        retentionIntervalMs: 1e9,
        coordinatorName: name,
        stuckAfterMs: 30_000,
      },
      { storeReachable: () => undefined, recovered: () => undefined },
    );
  }

  /** Starts its loops, retrying while the log does not answer (a process restarting). */
  async start(): Promise<void> {
    while (this.alive) {
      try {
        await this.maintenance.start();
        return;
      } catch {
        await sleep(this.clock, 300);
      }
    }
  }
}

interface Told {
  readonly outcome: Outcome;
  readonly how: string;
}

/**
 * One simulated world: a log, participants, two coordinator processes and
 * the clients, operators and faults a seed makes, all on one scheduler.
 */
export class SimWorld {
  readonly seed: number;
  readonly rnd: SimRandom;
  readonly sched: SimScheduler;
  readonly log: SimLog;
  readonly participants: SimParticipant[];
  readonly #processes = new Map<string, SimProcess>();
  readonly #told = new Map<string, Told[]>();
  readonly #ordinal = new Map<string, number>();
  readonly violations: string[] = [];
  readonly trace: string[] = [];
  #healed = false;

  constructor(seed: number) {
    this.seed = seed;
    this.rnd = new SimRandom(seed);
    this.sched = new SimScheduler(this.rnd);
    this.log = new SimLog(this.sched);
    this.participants = ['bank-a', 'bank-b', 'stock', 'mail'].map((n) => new SimParticipant(n));
  }

  note(what: string): void {
    what = what.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, (id) => this.tx(id));
    if (this.trace.length < TRACE_MAX) {
      this.trace.push(`${String(this.sched.now()).padStart(6)} ms  ${what}`);
    }
  }

  violation(what: string): void {
    this.violations.push(what);
    this.note(`VIOLATION ${what}`);
  }

  /** A short name for a transaction id, in order of appearance. */
  tx(txnId: string): string {
    let n = this.#ordinal.get(txnId);
    if (n === undefined) {
      n = this.#ordinal.size + 1;
      this.#ordinal.set(txnId, n);
    }
    return `tx${n}`;
  }

  /** Checks an outcome someone is told against what the log durably holds (rule 13). */
  #tell(txnId: string, outcome: Outcome, how: string): void {
    if (outcome === Outcome.PENDING) {
      return;
    }
    const row = this.log.durable.rows.get(txnId);
    const durable = row === undefined ? Outcome.ABORTED : outcomeOf(row);
    this.note(`${how}: told ${this.tx(txnId)} ${outcome}`);
    if (durable !== outcome) {
      this.violation(
        `${how} was told ${this.tx(txnId)} ${outcome} while the log durably held ${row?.state ?? 'nothing'}`,
      );
    }
    const list = this.#told.get(txnId) ?? [];
    list.push({ outcome, how });
    this.#told.set(txnId, list);
  }

  /** A phase-2 message leaves for a participant: its decision must be durable already. */
  phaseTwo(txnId: string, participant: string, outcome: Outcome): void {
    const row = this.log.durable.rows.get(txnId);
    const state = row?.state ?? null;
    // An Abort to a one-phase participant asks whether its commit landed:
    // its answer may turn the transaction COMMITTED while others are in flight.
    const ok =
      outcome === Outcome.COMMITTED
        ? state === TxState.COMMITTING || state === TxState.COMMITTED
        : state === null ||
          state === TxState.ABORTING ||
          state === TxState.ABORTED ||
          (row?.onePhase === true && state === TxState.COMMITTED);
    if (!ok) {
      this.violation(
        `${participant} was sent ${outcome === Outcome.COMMITTED ? 'Commit' : 'Abort'} for ${this.tx(txnId)} while the log durably held ${state ?? 'nothing'}`,
      );
    }
  }

  #alive(): SimProcess[] {
    return [...this.#processes.values()].filter((p) => p.alive);
  }

  #start(name: string): void {
    const proc = new SimProcess(this, name);
    this.#processes.set(name, proc);
    this.note(`coordinator ${name} starts`);
    void proc.start();
  }

  /** Waits on a call for at most `ms` (a client's deadline on its own clock). */
  async #within<T>(work: Promise<T>, ms: number): Promise<T | 'no answer'> {
    return Promise.race([work, sleep(this.sched, ms).then(() => 'no answer' as const)]);
  }

  /** One client's transaction, from Begin to its outcome (or to nothing, as clients do). */
  async #client(i: number): Promise<void> {
    const rnd = this.rnd;
    await sleep(this.sched, rnd.int(0, 8_000));
    const via = this.#alive();
    if (via.length === 0) {
      return;
    }
    const first = rnd.pick(via);
    const count = rnd.pick([1, 2, 2, 2, 3, 3]);
    const chosen = [...this.participants].sort(() => rnd.float() - 0.5).slice(0, count);
    const atBegin = chosen.filter((_, k) => k === 0 || rnd.chance(0.6));
    let txnId: TxId;
    try {
      const begun = await this.#within(
        first.coordinator.begin({
          timeoutMs: rnd.int(1_500, 6_000),
          labels: {},
          participants: atBegin.map((p) => ({ name: p.name, endpoint: p.endpoint })),
          tenant: 'default',
          principal: null,
        }),
        2_000,
      );
      if (begun === 'no answer') {
        return;
      }
      txnId = begun.txnId;
    } catch {
      return;
    }
    this.note(
      `client ${i}: began ${this.tx(txnId)} via ${first.name} with ${atBegin.map((p) => p.name).join(',')}`,
    );
    for (const p of chosen.filter((x) => !atBegin.includes(x))) {
      const via2 = rnd.pick(this.#alive().length > 0 ? this.#alive() : [first]);
      const ok = await this.#within(via2.coordinator.enlist(txnId, p.name, p.endpoint), 2_000).then(
        (r) => r !== 'no answer',
        () => false,
      );
      this.note(
        `client ${i}: enlist ${p.name} in ${this.tx(txnId)} via ${via2.name}: ${ok ? 'ok' : 'failed'}`,
      );
      if (!ok) {
        break;
      }
    }
    await sleep(this.sched, rnd.int(0, 300));
    const action = rnd.float();
    if (action < 0.08) {
      this.note(`client ${i}: walks away from ${this.tx(txnId)}`);
      return;
    }
    if (action < 0.18) {
      await this.#abort(txnId, `client ${i}`);
      return;
    }
    const commits = [this.#commit(txnId, `client ${i}`)];
    if (rnd.chance(0.1)) {
      commits.push(this.#abort(txnId, `client ${i} (racing abort)`));
    }
    if (rnd.chance(0.15)) {
      commits.push(
        sleep(this.sched, rnd.int(0, 50)).then(() => this.#commit(txnId, `client ${i} (repeat)`)),
      );
    }
    await Promise.all(commits);
    await sleep(this.sched, rnd.int(0, 3_000));
    await this.#read(txnId, `client ${i} reading`);
    if (rnd.chance(0.2)) {
      const op = this.#alive();
      if (op.length > 0) {
        const proc = rnd.pick(op);
        this.note(`operator: RetryNow ${this.tx(txnId)} via ${proc.name}`);
        await this.#within(retryNow(proc.coordinator, txnId, 'ops'), 2_000).catch(() => undefined);
      }
    }
  }

  async #commit(txnId: TxId, who: string): Promise<void> {
    const wait = this.rnd.chance(0.3);
    await this.#decide(txnId, `${who} Commit`, (proc, until) =>
      proc.coordinator.commit(txnId, wait, until),
    );
  }

  async #abort(txnId: TxId, who: string): Promise<void> {
    const operator = this.rnd.chance(0.3);
    await this.#decide(txnId, operator ? 'operator Abort' : `${who} Abort`, (proc, until) =>
      operator
        ? operatorAbort(proc.coordinator, txnId, 'operator', 'ops', until)
        : proc.coordinator.abort(txnId, '', until),
    );
  }

  /** A Commit or Abort through a live coordinator, with a deadline; what it was told is checked. */
  async #decide(
    txnId: TxId,
    what: string,
    call: (proc: SimProcess, until: AbortSignal) => Promise<{ outcome: Outcome }>,
  ): Promise<void> {
    const procs = this.#alive();
    if (procs.length === 0) {
      return;
    }
    const proc = this.rnd.pick(procs);
    const until = deadlineSignal(proc.clock, 3_000);
    try {
      const answer = await this.#within(call(proc, until.signal), 3_500);
      if (answer !== 'no answer') {
        this.#tell(txnId, answer.outcome, `${what} via ${proc.name}`);
      }
    } catch (err) {
      this.note(`${what} of ${this.tx(txnId)} via ${proc.name} failed: ${(err as Error).name}`);
    } finally {
      until.dispose();
    }
  }

  async #read(txnId: TxId, who: string): Promise<void> {
    const procs = this.#alive();
    if (procs.length === 0) {
      return;
    }
    const proc = this.rnd.pick(procs);
    const view = await this.#within(proc.coordinator.get(txnId), 2_000).catch(() => null);
    if (view !== null && view !== 'no answer') {
      this.#tell(txnId, outcomeOf(view), `${who} GetTransaction via ${proc.name}`);
    }
  }

  /** The faults of this seed, all before HEAL_AT_MS. */
  #faults(): void {
    const rnd = this.rnd;
    const at = (fn: () => void): void => {
      this.sched.setTimeout(
        () => {
          if (!this.#healed) {
            fn();
          }
        },
        rnd.int(0, HEAL_AT_MS - 500),
      );
    };
    this.log.faults = { refuse: rnd.float() * 0.03, loseAnswer: rnd.float() * 0.03 };
    for (const p of this.participants) {
      p.loss = rnd.float() * 0.03;
    }
    for (let k = rnd.int(0, 2); k > 0; k--) {
      at(() => {
        this.note('FAULT the log crashes (unflushed writes lost, incarnation emptied)');
        this.log.crash();
        this.#logDown(rnd.int(20, 2_000), 'the log is back');
      });
    }
    for (let k = rnd.int(0, 1); k > 0; k--) {
      at(() => {
        this.note('FAULT the log stops answering');
        this.#logDown(rnd.int(50, 3_000), 'the log answers again');
      });
    }
    for (let k = rnd.int(0, 2); k > 0; k--) {
      at(() => {
        const victim = this.#alive();
        if (victim.length === 0) {
          return;
        }
        const proc = rnd.pick(victim);
        proc.alive = false;
        this.note(`FAULT coordinator ${proc.name} is killed`);
        this.sched.setTimeout(
          () => {
            if (!this.#healed && this.#processes.get(proc.name) === proc) {
              this.#start(proc.name);
            }
          },
          rnd.int(50, 4_000),
        );
      });
    }
    for (let k = rnd.int(0, 3); k > 0; k--) {
      at(() => {
        const p = rnd.pick(this.participants);
        p.up = false;
        this.note(`FAULT participant ${p.name} is down`);
        this.sched.setTimeout(
          () => {
            p.up = true;
            this.note(`participant ${p.name} is back`);
          },
          rnd.int(50, 5_000),
        );
      });
    }
  }

  /** The log answers nothing for `ms`, then answers again. */
  #logDown(ms: number, back: string): void {
    this.log.up = false;
    this.sched.setTimeout(() => {
      this.log.up = true;
      this.note(back);
    }, ms);
  }

  #heal(): void {
    this.#healed = true;
    this.note('faults heal');
    this.log.up = true;
    this.log.faults = { refuse: 0, loseAnswer: 0 };
    for (const p of this.participants) {
      p.up = true;
      p.loss = 0;
    }
    for (const [name, proc] of this.#processes) {
      if (!proc.alive) {
        this.#start(name);
      }
    }
  }

  /**
   * A participant's own check of the contract, kept for one case only: a
   * branch prepared for long whose transaction the log does not know
   * (NOT_FOUND: lost with the log's unflushed writes) is rolled back.
   */
  async #participantsAsk(): Promise<void> {
    for (const p of this.participants) {
      for (const [txnId, branch] of p.branches) {
        const since = p.preparedAt.get(txnId) ?? 0;
        if (branch !== 'prepared' || this.sched.now() - since < 20_000 || !p.up) {
          continue;
        }
        const proc = this.#alive()[0];
        if (proc === undefined) {
          return;
        }
        try {
          await proc.coordinator.get(txnId as TxId);
        } catch (err) {
          if (err instanceof TxNotFoundError && p.branches.get(txnId) === 'prepared') {
            this.note(`${p.name} asks about ${this.tx(txnId)}: NOT_FOUND, rolls back`);
            p.branches.set(txnId, 'aborted');
          }
        }
      }
    }
  }

  #finished(): boolean {
    const rows = [...this.log.live.rows.values()];
    return (
      this.#healed &&
      rows.every((r) => isTerminal(r.state)) &&
      this.participants.every((p) => [...p.branches.values()].every((b) => b !== 'prepared'))
    );
  }

  /** The invariants of the bank test, once every fault has healed. */
  #check(): void {
    const ids = new Set<string>([...this.log.live.rows.keys(), ...this.#told.keys()]);
    for (const p of this.participants) {
      p.branches.forEach((_, id) => ids.add(id));
    }
    for (const id of ids) {
      const row = this.log.live.rows.get(id);
      if (row !== undefined && !isTerminal(row.state)) {
        this.violation(`${this.tx(id)} is not final: ${row.state}`);
      }
      const final = row === undefined ? Outcome.ABORTED : outcomeOf(row);
      for (const t of this.#told.get(id) ?? []) {
        if (t.outcome !== final) {
          this.violation(`${t.how} was told ${this.tx(id)} ${t.outcome}; it ended ${final}`);
        }
      }
      const at = this.participants.map((p) => [p.name, p.branches.get(id)] as const);
      for (const [name, branch] of at) {
        if (branch === 'prepared') {
          this.violation(
            `${name} still holds ${this.tx(id)} prepared (${row?.state ?? 'not in the log'})`,
          );
        }
        if (branch === 'committed' && final !== Outcome.COMMITTED) {
          this.violation(`${name} committed ${this.tx(id)}, which ended ${final}`);
        }
      }
      const committed = at.some(([, b]) => b === 'committed');
      const aborted = at.some(([, b]) => b === 'aborted');
      if (committed && aborted) {
        this.violation(`${this.tx(id)} is committed at one participant and aborted at another`);
      }
    }
  }

  /** Runs the seed's world to its end and checks it. */
  async run(): Promise<SimResult> {
    for (const name of ['A', 'B']) {
      this.#start(name);
    }
    const transactions = this.rnd.int(4, 10);
    for (let i = 1; i <= transactions; i++) {
      void this.#client(i);
    }
    this.#faults();
    this.sched.setTimeout(() => this.#heal(), HEAL_AT_MS);
    const ask = (): void => {
      void this.#participantsAsk();
      this.sched.setTimeout(ask, 5_000);
    };
    this.sched.setTimeout(ask, 5_000);
    await this.sched.run(GIVE_UP_AT_MS, () => this.#finished());
    this.#check();
    for (const proc of this.#processes.values()) {
      proc.alive = false; // every loop and call of this world stops here
    }
    return {
      seed: this.seed,
      violations: this.violations,
      trace: this.trace,
      transactions,
      steps: this.sched.steps,
      simulatedMs: this.sched.now(),
    };
  }
}

/** Runs one seed. */
export function runSeed(seed: number): Promise<SimResult> {
  return new SimWorld(seed).run();
}
