import { ParticipantUnavailableError } from 'twopc/internal/contract/errors';
import { Outcome, Vote } from 'twopc/internal/contract/tx-state';
import type { HealthProbe } from '../../src/participant/health-probe.ts';
import type {
  AckResult,
  ParticipantCall,
  ParticipantClient,
  PrepareResult,
} from '../../src/participant/participant-client.ts';
import type { SimProcessRef } from './sim-log.ts';
import type { SimScheduler } from './sim-scheduler.ts';
import type { Counted } from './sim-stats.ts';

/** A branch of work at a participant ('active': work done, not prepared: lost in a crash). */
export type Branch = 'active' | 'prepared' | 'committed' | 'aborted' | 'released';

/** What a participant answered to the first Prepare or one-phase Commit of a transaction. */
export type Answered = 'PREPARED' | 'READ_ONLY' | 'ABORT' | 'refused';

/** What a participant reports to the checks of the run. */
export interface ParticipantWitness {
  /** A phase-2 message leaves: the log must durably hold that decision already. */
  phaseTwo(txnId: string, participant: string, outcome: Outcome): void;
  /** Something a participant saw that no correct coordinator can cause. */
  violation(what: string): void;
  note(what: string): void;
  count(what: Counted): void;
  /** The transaction's state in the log now (null: the log does not know it). */
  loggedState(txnId: string): string | null;
  /** Whether the log lists the participant in the transaction now. */
  listed(txnId: string, participant: string): boolean;
}

/**
 * A participant service as the protocol sees it (the SDK helper's rules):
 * PREPARED work survives its crashes, an Abort before the Prepare is
 * remembered and the late Prepare refused (suspension), phase 2 is
 * idempotent, an unknown transaction is acknowledged. Of the contract's
 * own check (GetTransaction about a branch prepared for long) it keeps only
 * the NOT_FOUND case, a transaction the log lost: every branch of a
 * transaction the log knows must be finished by a coordinator (DESIGN §3
 * rule 4).
 */
export class SimParticipant {
  readonly name: string;
  readonly endpoint: string;
  readonly branches = new Map<string, Branch>();
  /** When each branch was prepared (simulated ms). */
  readonly preparedAt = new Map<string, number>();
  /** What it answered first, per transaction (the liveness check reads it). */
  readonly answered = new Map<string, Answered>();
  /** Answers while true; a participant down answers nothing. */
  up = true;
  /** Its process is gone: connections are refused (nothing is sent). */
  crashed = false;
  /** Passes health checks, but every Commit and Abort fails. */
  gray = false;
  /** Chance that a request or its answer is lost on the way. */
  loss = 0;
  /** Chance that a call is slow (up to 3 s). */
  slow = 0;
  /** Phase-2 messages received, per transaction and kind (counts retries). */
  readonly #phaseTwo = new Set<string>();

  constructor(name: string) {
    this.name = name;
    this.endpoint = `${name}.sim:7000`;
  }

  /** The process dies and restarts: work not prepared is lost, prepared work survives. */
  crash(): void {
    for (const [txnId, branch] of this.branches) {
      if (branch === 'active') {
        this.branches.delete(txnId);
      }
    }
  }

  /** Whether this phase-2 message was received before (a retry). */
  repeated(txnId: string, kind: string): boolean {
    const key = `${txnId}/${kind}`;
    const seen = this.#phaseTwo.has(key);
    this.#phaseTwo.add(key);
    return seen;
  }
}

/**
 * The network from one coordinator process to the participants: each call
 * is a round trip on the simulated clock with its deadline; a request can
 * be lost before it arrives or its answer after the work is done
 * (ambiguous), and a slow participant can outlast the deadline. Answers to
 * a process that died are never delivered.
 */
export class SimNetwork implements ParticipantClient, HealthProbe {
  readonly #sched: SimScheduler;
  readonly #proc: SimProcessRef;
  readonly #byEndpoint: Map<string, SimParticipant>;
  readonly #witness: ParticipantWitness;

  constructor(
    sched: SimScheduler,
    proc: SimProcessRef,
    participants: readonly SimParticipant[],
    witness: ParticipantWitness,
  ) {
    this.#sched = sched;
    this.#proc = proc;
    this.#byEndpoint = new Map(participants.map((p) => [p.endpoint, p]));
    this.#witness = witness;
  }

  #call<T>(
    call: ParticipantCall,
    what: string,
    work: (p: SimParticipant) => T,
    phaseTwo = false,
  ): Promise<T> {
    const rnd = this.#sched.random;
    const p = this.#byEndpoint.get(call.endpoint);
    const w = this.#witness;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const fail = (why: string, mayHaveReached = true): void => {
        this.#proc.deliver(() => {
          if (!settled) {
            settled = true;
            reject(new ParticipantUnavailableError(call.name, why, undefined, mayHaveReached));
          }
        });
      };
      const cancelDeadline = this.#sched.setTimeout(
        () => fail('no answer before the deadline'),
        call.timeoutMs,
      );
      const slow = p !== undefined && rnd.chance(p.slow) ? rnd.int(50, 3_000) : 0;
      if (slow > 0 && call.txnId !== '') {
        w.count('participant call slow');
      }
      if (p !== undefined && p.crashed) {
        // Connection refused: the request never left.
        if (call.txnId !== '') {
          w.count('participant connection refused');
        }
        this.#sched.setTimeout(() => fail('connection refused', false), rnd.int(0, 3));
        return;
      }
      this.#sched.setTimeout(
        () => {
          if (p === undefined || !p.up || this.#proc.cutFrom(p.name) || rnd.chance(p.loss)) {
            if (p !== undefined && p.up && !this.#proc.cutFrom(p.name) && call.txnId !== '') {
              w.count('participant call lost');
            }
            this.#sched.setTimeout(() => fail('unreachable'), rnd.int(0, 3));
            return;
          }
          if (phaseTwo && p.gray) {
            w.count('participant gray (health ok, phase 2 fails)');
            this.#sched.setTimeout(() => fail('internal error'), rnd.int(0, 3));
            return;
          }
          const before = p.branches.get(call.txnId) ?? 'none';
          const result = work(p);
          const lost = rnd.chance(p.loss);
          if (call.txnId !== '') {
            w.note(
              `${p.name} ${what} ${call.txnId}: ${before} -> ${p.branches.get(call.txnId) ?? 'none'}${lost ? ' (answer lost)' : ''}`,
            );
          }
          this.#sched.setTimeout(
            () => {
              if (lost || this.#proc.cutFrom(p.name)) {
                if (lost) {
                  w.count('participant call lost');
                }
                fail('connection dropped');
                return;
              }
              this.#proc.deliver(() => {
                if (!settled) {
                  settled = true;
                  cancelDeadline();
                  resolve(result);
                }
              });
            },
            rnd.int(0, 4),
          );
        },
        rnd.int(0, 4) + slow,
      );
    });
  }

  prepare(call: ParticipantCall): Promise<PrepareResult> {
    const rnd = this.#sched.random;
    const w = this.#witness;
    return this.#call(call, 'Prepare', (p): PrepareResult => {
      if (w.loggedState(call.txnId) === 'ACTIVE') {
        w.count('Prepare before the claim (early)');
      }
      if (!w.listed(call.txnId, call.name)) {
        w.count('Prepare to a participant the log does not list');
      }
      const branch = p.branches.get(call.txnId);
      const vote = (v: Vote, reason: string | null): PrepareResult => {
        if (!p.answered.has(call.txnId)) {
          p.answered.set(call.txnId, v);
        }
        return { vote: v, reason };
      };
      if (branch === 'aborted') {
        w.count('late Prepare refused (Abort first)');
        return vote(Vote.ABORT, 'suspended: the Abort came first');
      }
      if (branch === 'prepared' || branch === 'committed') {
        return vote(Vote.PREPARED, null);
      }
      if (branch === 'released') {
        return vote(Vote.READ_ONLY, null);
      }
      if (branch === undefined) {
        // The work was lost when the participant crashed before preparing it.
        p.branches.set(call.txnId, 'aborted');
        return vote(Vote.ABORT, 'no such work (lost in a restart)');
      }
      const dice = rnd.float();
      if (dice < 0.07) {
        p.branches.set(call.txnId, 'aborted');
        return vote(Vote.ABORT, 'out of stock\u0000');
      }
      if (dice < 0.1) {
        p.branches.set(call.txnId, 'released');
        return vote(Vote.READ_ONLY, null);
      }
      p.branches.set(call.txnId, 'prepared');
      p.preparedAt.set(call.txnId, this.#sched.now());
      return vote(Vote.PREPARED, rnd.chance(0.1) ? 'ok\u0000\uD800' : null);
    });
  }

  commit(call: ParticipantCall, onePhase: boolean): Promise<AckResult> {
    const rnd = this.#sched.random;
    const w = this.#witness;
    if (!onePhase) {
      w.phaseTwo(call.txnId, call.name, Outcome.COMMITTED);
    }
    const what = onePhase ? 'Commit(one phase)' : 'Commit';
    return this.#call(
      call,
      what,
      (p): AckResult => {
        const branch = p.branches.get(call.txnId);
        if (onePhase) {
          if (branch === 'active') {
            const refuse = rnd.chance(0.05);
            p.branches.set(call.txnId, refuse ? 'aborted' : 'committed');
            p.answered.set(call.txnId, refuse ? 'refused' : 'PREPARED');
            return { outcome: refuse ? Outcome.ABORTED : Outcome.COMMITTED, reason: null };
          }
          if (branch === undefined) {
            p.branches.set(call.txnId, 'aborted'); // the work was lost in a restart
          }
          if (!p.answered.has(call.txnId)) {
            p.answered.set(call.txnId, branch === 'committed' ? 'PREPARED' : 'refused');
          }
          return {
            outcome: branch === 'committed' ? Outcome.COMMITTED : Outcome.ABORTED,
            reason: null,
          };
        }
        if (p.repeated(call.txnId, 'commit')) {
          w.count('phase 2 retried');
        }
        if (branch !== 'prepared' && branch !== 'committed') {
          w.violation(
            `${p.name} told Commit for a branch it had not prepared (${call.txnId}: ${branch ?? 'none'})`,
          );
          return { outcome: Outcome.ABORTED, reason: null };
        }
        p.branches.set(call.txnId, 'committed');
        return { outcome: Outcome.COMMITTED, reason: null };
      },
      true,
    );
  }

  abort(call: ParticipantCall): Promise<AckResult> {
    const w = this.#witness;
    w.phaseTwo(call.txnId, call.name, Outcome.ABORTED);
    return this.#call(
      call,
      'Abort',
      (p): AckResult => {
        if (p.repeated(call.txnId, 'abort')) {
          w.count('phase 2 retried');
        }
        const branch = p.branches.get(call.txnId);
        if (branch === 'committed') {
          // Legitimate only for a one-phase commit the abort raced with.
          return { outcome: Outcome.COMMITTED, reason: null };
        }
        if (branch === undefined || branch === 'active' || branch === 'prepared') {
          p.branches.set(call.txnId, 'aborted'); // an Abort before the Prepare is remembered
        }
        return { outcome: branch === 'released' ? null : Outcome.ABORTED, reason: null };
      },
      true,
    );
  }

  check(endpoint: string, timeoutMs: number): Promise<boolean> {
    return this.#call(
      { endpoint, txnId: '', name: 'health', timeoutMs },
      'Check',
      (p) => p.up,
    ).catch(() => false);
  }

  close(): void {}
}
