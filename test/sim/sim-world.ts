import { outcomeOf } from '../../src/core/decide.ts';
import { TxNotFoundError } from 'twopc/internal/contract/errors';
import type { TxId } from '../../src/core/tx-record.ts';
import { Outcome, TxState, isTerminal } from 'twopc/internal/contract/tx-state';
import { operatorAbort, retryNow } from '../../src/coordinator/operator-actions.ts';
import { sleep } from 'twopc/internal/time/clock';
import { deadlineSignal } from 'twopc/internal/time/deadline-signal';
import { drawConfig } from './sim-config.ts';
import type { SimConfig } from './sim-config.ts';
import { applyRates, healAll, scheduleFaults } from './sim-faults.ts';
import type { FaultWorld } from './sim-faults.ts';
import { SimLog } from './sim-log.ts';
import { SimParticipant } from './sim-participants.ts';
import type { ParticipantWitness } from './sim-participants.ts';
import { SimProcess } from './sim-process.ts';
import { SimRandom } from './sim-random.ts';
import { SimScheduler } from './sim-scheduler.ts';
import { SimStats } from './sim-stats.ts';
import type { Counted } from './sim-stats.ts';

/** What one simulated run found. */
export interface SimResult {
  readonly seed: number;
  readonly violations: readonly string[];
  /** What happened, in simulated time (printed for a failing seed). */
  readonly trace: readonly string[];
  readonly transactions: number;
  readonly steps: number;
  readonly simulatedMs: number;
  readonly config: SimConfig;
  readonly stats: SimStats;
}

/** Faults happen until then; afterwards everything heals and the run must finish. */
const HEAL_AT_MS = 12_000;
/** Fault-free transactions begin then (health checks and restarts have settled). */
const FAULT_FREE_AT_MS = HEAL_AT_MS + 5_000;
/** A run that has not finished by then has left something unfinished. */
const GIVE_UP_AT_MS = 240_000;
const TRACE_MAX = 600;

/** A pinned scenario: a configuration and a scripted fault schedule in place of the drawn ones. */
export interface Pinned {
  readonly config: (drawn: SimConfig) => SimConfig;
  /** Schedules the faults (all before `healAtMs`). */
  readonly script: (w: FaultWorld, healAtMs: number) => void;
}

interface Told {
  readonly outcome: Outcome;
  readonly how: string;
}

/**
 * One simulated world: a log, participants, coordinator processes and the
 * clients, operators and faults a seed makes, all on one scheduler. The
 * seed draws the configuration, the topology and the fault mix first.
 */
export class SimWorld implements ParticipantWitness {
  readonly seed: number;
  readonly rnd: SimRandom;
  readonly sched: SimScheduler;
  readonly log: SimLog;
  readonly config: SimConfig;
  readonly stats = new SimStats();
  readonly participants: SimParticipant[];
  readonly #processes = new Map<string, SimProcess>();
  readonly #told = new Map<string, Told[]>();
  readonly #ordinal = new Map<string, number>();
  readonly violations: string[] = [];
  readonly trace: string[] = [];
  #healed = false;
  #begun = 0;
  readonly #pinned: Pinned | null;
  /** Fault-free clients still waiting for their answer. */
  #faultFreeLeft = 0;

  constructor(seed: number, pinned: Pinned | null = null) {
    this.seed = seed;
    this.#pinned = pinned;
    this.rnd = new SimRandom(seed);
    // Its own stream: a setting added at the end of the draw leaves the
    // other settings, and the world's own draws, of every seed as they were.
    const drawn = drawConfig(new SimRandom(seed, 1));
    this.config = pinned === null ? drawn : pinned.config(drawn);
    this.sched = new SimScheduler(this.rnd);
    this.log = new SimLog(this.sched, (what) => this.count(what), this.config.walWriterMs);
    this.participants = this.config.participants.map((n) => new SimParticipant(n));
  }

  get witness(): ParticipantWitness {
    return this;
  }

  get healed(): boolean {
    return this.#healed;
  }

  count(what: Counted): void {
    this.stats.bump(what);
  }

  loggedState(txnId: string): string | null {
    return this.log.live.rows.get(txnId)?.state ?? null;
  }

  listed(txnId: string, participant: string): boolean {
    return this.log.live.rows.get(txnId)?.participants.some((p) => p.name === participant) ?? false;
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
    this.count('outcomes told');
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

  serving(): SimProcess[] {
    return [...this.#processes.values()].filter((p) => p.serving);
  }

  #start(name: string, offsetMs: number): void {
    const proc = new SimProcess(this, name, offsetMs);
    this.#processes.set(name, proc);
    this.note(`coordinator ${name} starts`);
    void proc.start();
  }

  restartLater(proc: SimProcess, ms: number): void {
    this.sched.setTimeout(() => {
      if (!this.#healed && this.#processes.get(proc.name) === proc) {
        this.#start(proc.name, 0);
      }
    }, ms);
  }

  /** Waits on a call for at most `ms` (a client's deadline on its own clock). */
  async #within<T>(work: Promise<T>, ms: number): Promise<T | 'no answer'> {
    return Promise.race([work, sleep(this.sched, ms).then(() => 'no answer' as const)]);
  }

  /** Begins a transaction through a serving coordinator, its work done at `atBegin` first. */
  async #begin(
    who: string,
    atBegin: readonly SimParticipant[],
    leaseMs: number,
  ): Promise<{ txnId: TxId; via: SimProcess } | null> {
    const via = this.serving();
    if (via.length === 0) {
      return null;
    }
    const first = this.rnd.pick(via);
    try {
      const begun = await this.#within(
        first.coordinator.begin({
          timeoutMs: leaseMs,
          labels: {},
          participants: atBegin.map((p) => ({ name: p.name, endpoint: p.endpoint })),
          tenant: 'default',
          principal: null,
        }),
        2_000,
      );
      if (begun === 'no answer') {
        return null;
      }
      this.count('transactions begun');
      this.#begun++;
      for (const p of atBegin) {
        p.branches.set(begun.txnId, 'active'); // the client's work there
      }
      this.note(
        `${who}: began ${this.tx(begun.txnId)} via ${first.name} with ${atBegin.map((p) => p.name).join(',')}`,
      );
      return { txnId: begun.txnId, via: first };
    } catch {
      return null;
    }
  }

  /** Enlists participants one by one (their work done first); false when one failed. */
  async #enlist(who: string, txnId: TxId, more: readonly SimParticipant[]): Promise<boolean> {
    for (const p of more) {
      if (this.config.enlistDelayMs > 0) {
        await sleep(this.sched, this.rnd.int(0, this.config.enlistDelayMs));
      }
      const serving = this.serving();
      if (serving.length === 0) {
        return false;
      }
      const via = this.rnd.pick(serving);
      if (!p.branches.has(txnId)) {
        p.branches.set(txnId, 'active');
      }
      const ok = await this.#within(via.coordinator.enlist(txnId, p.name, p.endpoint), 2_000).then(
        (r) => r !== 'no answer',
        () => false,
      );
      this.note(
        `${who}: enlist ${p.name} in ${this.tx(txnId)} via ${via.name}: ${ok ? 'ok' : 'failed'}`,
      );
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  #choose(max: number): SimParticipant[] {
    const rnd = this.rnd;
    const count = Math.min(this.participants.length, rnd.pick([1, 2, 2, 2, 3, 3]), max);
    return [...this.participants].sort(() => rnd.float() - 0.5).slice(0, count);
  }

  /** One client's transaction, from Begin to its outcome (or to nothing, as clients do). */
  async #client(i: number): Promise<void> {
    const rnd = this.rnd;
    const who = `client ${i}`;
    await sleep(this.sched, rnd.int(0, 8_000));
    const chosen = this.#choose(3);
    const atBegin = chosen.filter((_, k) => k === 0 || rnd.chance(0.6));
    const begun = await this.#begin(who, atBegin, rnd.int(1_500, 6_000));
    if (begun === null) {
      return;
    }
    const txnId = begun.txnId;
    await this.#enlist(
      who,
      txnId,
      chosen.filter((x) => !atBegin.includes(x)),
    );
    await sleep(this.sched, rnd.int(0, 300));
    const action = rnd.float();
    if (action < 0.08) {
      this.note(`${who}: walks away from ${this.tx(txnId)}`);
      return;
    }
    if (action < 0.18) {
      await this.#abort(txnId, who);
      return;
    }
    const commits = [this.#commit(txnId, who)];
    if (rnd.chance(this.config.raceChance)) {
      commits.push(this.#abort(txnId, `${who} (racing abort)`));
    }
    if (rnd.chance(this.config.raceChance * 1.5)) {
      commits.push(
        sleep(this.sched, rnd.int(0, 50)).then(() => this.#commit(txnId, `${who} (repeat)`)),
      );
    }
    await Promise.all(commits);
    await sleep(this.sched, rnd.int(0, 3_000));
    await this.#read(txnId, `${who} reading`);
    if (rnd.chance(0.2)) {
      const op = this.serving();
      if (op.length > 0) {
        const proc = rnd.pick(op);
        this.note(`operator: RetryNow ${this.tx(txnId)} via ${proc.name}`);
        await this.#within(retryNow(proc.coordinator, txnId, 'ops'), 2_000).catch(() => undefined);
      }
    }
  }

  /**
   * A client after every fault has healed: a Commit whose participants
   * all vote PREPARED (or READ_ONLY) must be told COMMITTED (liveness).
   */
  async #faultFreeClient(i: number): Promise<void> {
    const who = `fault-free client ${i}`;
    await sleep(this.sched, this.rnd.int(0, 2_000));
    const chosen = this.#choose(3);
    const begun = await this.#begin(who, chosen.slice(0, 1), 10_000);
    if (begun === null || !(await this.#enlist(who, begun.txnId, chosen.slice(1)))) {
      this.violation(`${who} could not begin and enlist in a fault-free world`);
      return;
    }
    const txnId = begun.txnId;
    this.count('fault-free transactions');
    const told = await this.#decide(txnId, `${who} Commit`, (proc, until) =>
      proc.coordinator.commit(txnId, this.rnd.chance(0.5), until),
    );
    const refused = chosen.filter((p) => {
      const a = p.answered.get(txnId);
      return a === 'ABORT' || a === 'refused';
    });
    if (told === Outcome.COMMITTED) {
      this.count('fault-free COMMITTED');
    } else if (refused.length === 0) {
      this.violation(
        `${who}: no participant refused ${this.tx(txnId)} in a fault-free world, yet its Commit was told ${told ?? 'nothing'}`,
      );
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

  /** A Commit or Abort through a serving coordinator, with a deadline; what it was told is checked. */
  async #decide(
    txnId: TxId,
    what: string,
    call: (proc: SimProcess, until: AbortSignal) => Promise<{ outcome: Outcome }>,
  ): Promise<Outcome | null> {
    const procs = this.serving();
    if (procs.length === 0) {
      return null;
    }
    const proc = this.rnd.pick(procs);
    const until = deadlineSignal(proc.clock, 3_000);
    try {
      const answer = await this.#within(call(proc, until.signal), 3_500);
      if (answer === 'no answer') {
        return null;
      }
      this.#tell(txnId, answer.outcome, `${what} via ${proc.name}`);
      if (answer.outcome !== Outcome.PENDING) {
        this.count(
          answer.outcome === Outcome.COMMITTED ? 'client told COMMITTED' : 'client told ABORTED',
        );
      }
      return answer.outcome;
    } catch (err) {
      this.note(`${what} of ${this.tx(txnId)} via ${proc.name} failed: ${(err as Error).name}`);
      return null;
    } finally {
      until.dispose();
    }
  }

  async #read(txnId: TxId, who: string): Promise<void> {
    const procs = this.serving();
    if (procs.length === 0) {
      return;
    }
    const proc = this.rnd.pick(procs);
    const view = await this.#within(proc.coordinator.get(txnId), 2_000).catch(() => null);
    if (view !== null && view !== 'no answer') {
      this.#tell(txnId, outcomeOf(view), `${who} GetTransaction via ${proc.name}`);
    }
  }

  #heal(): void {
    this.#healed = true;
    this.note('faults heal');
    healAll(this);
    for (const [name, proc] of this.#processes) {
      proc.healLinks();
      if (!proc.alive) {
        this.#start(name, 0);
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
        const proc = this.serving()[0];
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
      this.sched.now() > FAULT_FREE_AT_MS &&
      this.#faultFreeLeft === 0 &&
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
      this.note(`end: ${this.tx(id)} ${row?.state ?? 'not in the log'} ${row?.reason ?? ''}`);
      this.#countEnd(id);
      for (const t of this.#told.get(id) ?? []) {
        if (t.outcome !== final) {
          this.violation(`${t.how} was told ${this.tx(id)} ${t.outcome}; it ended ${final}`);
        }
      }
      for (const p of this.participants) {
        const branch = p.branches.get(id);
        if (branch === 'prepared') {
          this.violation(
            `${p.name} still holds ${this.tx(id)} prepared (${row?.state ?? 'not in the log'})`,
          );
        }
        if (branch === 'committed' && final !== Outcome.COMMITTED) {
          this.violation(`${p.name} committed ${this.tx(id)}, which ended ${final}`);
        }
      }
      // Atomicity the other way: every participant of a committed
      // transaction committed its branch (or had nothing to commit).
      for (const rp of final === Outcome.COMMITTED ? (row?.participants ?? []) : []) {
        const branch = this.participants.find((p) => p.name === rp.name)?.branches.get(id);
        if (branch !== 'committed' && branch !== 'released') {
          this.violation(
            `${this.tx(id)} ended COMMITTED${row?.onePhase === true ? ' (one phase)' : ''}, but ${rp.name} holds it ${branch ?? 'not at all'}`,
          );
        }
      }
    }
  }

  /** Counts how a transaction ended, and the rare paths its row shows it took. */
  #countEnd(id: string): void {
    const row = this.log.live.rows.get(id);
    if (row === undefined) {
      return;
    }
    const committed = outcomeOf(row) === Outcome.COMMITTED;
    this.count(committed ? 'ended COMMITTED' : 'ended ABORTED');
    if (row.onePhase) {
      this.count(committed ? 'one-phase committed' : 'one-phase refused');
    }
    const reason = row.reason ?? '';
    for (const [prefix, what] of [
      ['LEASE_EXPIRED', 'aborted: lease expired'],
      ['COORDINATOR_RECOVERY', 'aborted: coordinator recovery'],
      ['LOG_STORE_RESTARTED', 'aborted: log store restarted'],
    ] as const) {
      if (reason.startsWith(prefix)) {
        this.count(what);
      }
    }
    if (row.participants.some((p) => p.lastError?.startsWith('gave up') === true)) {
      this.count('Abort given up (no Prepare reached it)');
    }
  }

  /** Runs the seed's world to its end and checks it. */
  async run(): Promise<SimResult> {
    this.config.clockOffsetsMs.forEach((offset, k) => this.#start('ABCD'.charAt(k), offset));
    for (let i = 1; i <= this.config.transactions; i++) {
      void this.#client(i);
    }
    applyRates(this);
    (this.#pinned?.script ?? scheduleFaults)(this, HEAL_AT_MS);
    this.sched.setTimeout(() => this.#heal(), HEAL_AT_MS);
    this.#faultFreeLeft = this.rnd.int(1, 3);
    for (let i = this.#faultFreeLeft; i > 0; i--) {
      this.sched.setTimeout(() => {
        void this.#faultFreeClient(i).finally(() => this.#faultFreeLeft--);
      }, FAULT_FREE_AT_MS);
    }
    const ask = (): void => {
      void this.#participantsAsk();
      this.sched.setTimeout(ask, 5_000);
    };
    this.sched.setTimeout(ask, 5_000);
    // A rejection nobody handles crashes a real process (Node's default): a bug.
    const unhandled = (err: unknown): void =>
      this.violation(`unhandled rejection: ${err instanceof Error ? err.stack : String(err)}`);
    process.on('unhandledRejection', unhandled);
    try {
      await this.sched.run(GIVE_UP_AT_MS, () => this.#finished());
    } finally {
      process.off('unhandledRejection', unhandled);
    }
    this.#check();
    for (const proc of this.#processes.values()) {
      proc.alive = false; // every loop and call of this world stops here
    }
    return {
      seed: this.seed,
      violations: this.violations,
      trace: this.trace,
      transactions: this.#begun,
      steps: this.sched.steps,
      simulatedMs: this.sched.now(),
      config: this.config,
      stats: this.stats,
    };
  }
}

/** Runs one seed (of a pinned scenario: its configuration and faults, the rest from the seed). */
export function runSeed(seed: number, pinned: Pinned | null = null): Promise<SimResult> {
  return new SimWorld(seed, pinned).run();
}
