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

/** A branch of work at a participant. */
export type Branch = 'prepared' | 'committed' | 'aborted' | 'released';

/** What a participant reports to the checks of the run. */
export interface ParticipantWitness {
  /** A phase-2 message leaves: the log must durably hold that decision already. */
  phaseTwo(txnId: string, participant: string, outcome: Outcome): void;
  /** Something a participant saw that no correct coordinator can cause. */
  violation(what: string): void;
  note(what: string): void;
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
  /** Answers while true; a crashed or partitioned participant answers nothing. */
  up = true;
  /** Chance that a request or its answer is lost on the way. */
  loss = 0;

  constructor(name: string) {
    this.name = name;
    this.endpoint = `${name}.sim:7000`;
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

  #call<T>(call: ParticipantCall, what: string, work: (p: SimParticipant) => T): Promise<T> {
    const rnd = this.#sched.random;
    const p = this.#byEndpoint.get(call.endpoint);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const fail = (why: string): void => {
        if (!settled && this.#proc.alive) {
          settled = true;
          reject(new ParticipantUnavailableError(call.name, why));
        }
      };
      const cancelDeadline = this.#sched.setTimeout(
        () => fail('no answer before the deadline'),
        call.timeoutMs,
      );
      const slow = rnd.chance(0.03) ? rnd.int(50, 3_000) : 0;
      this.#sched.setTimeout(
        () => {
          if (p === undefined || !p.up || rnd.chance(p.loss)) {
            this.#sched.setTimeout(() => fail('unreachable'), rnd.int(0, 3));
            return;
          }
          const before = p.branches.get(call.txnId) ?? 'none';
          const result = work(p);
          const lost = rnd.chance(p.loss);
          if (call.txnId !== '') {
            this.#witness.note(
              `${p.name} ${what} ${call.txnId}: ${before} -> ${p.branches.get(call.txnId) ?? 'none'}${lost ? ' (answer lost)' : ''}`,
            );
          }
          this.#sched.setTimeout(
            () => {
              if (lost || settled || !this.#proc.alive) {
                fail('connection dropped');
                return;
              }
              settled = true;
              cancelDeadline();
              resolve(result);
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
    return this.#call(call, 'Prepare', (p) => {
      const branch = p.branches.get(call.txnId);
      if (branch === 'aborted') {
        return { vote: Vote.ABORT, reason: 'suspended: the Abort came first' };
      }
      if (branch === 'prepared' || branch === 'committed') {
        return { vote: Vote.PREPARED, reason: null };
      }
      if (branch === 'released') {
        return { vote: Vote.READ_ONLY, reason: null };
      }
      const dice = rnd.float();
      if (dice < 0.07) {
        p.branches.set(call.txnId, 'aborted');
        return { vote: Vote.ABORT, reason: 'out of stock\u0000' };
      }
      if (dice < 0.1) {
        p.branches.set(call.txnId, 'released');
        return { vote: Vote.READ_ONLY, reason: null };
      }
      p.branches.set(call.txnId, 'prepared');
      p.preparedAt.set(call.txnId, this.#sched.now());
      return { vote: Vote.PREPARED, reason: rnd.chance(0.1) ? 'ok\u0000\uD800' : null };
    });
  }

  commit(call: ParticipantCall, onePhase: boolean): Promise<AckResult> {
    const rnd = this.#sched.random;
    if (!onePhase) {
      this.#witness.phaseTwo(call.txnId, call.name, Outcome.COMMITTED);
    }
    return this.#call(call, onePhase ? 'Commit(one phase)' : 'Commit', (p): AckResult => {
      const branch = p.branches.get(call.txnId);
      if (onePhase) {
        if (branch === undefined) {
          const refuse = rnd.chance(0.05);
          p.branches.set(call.txnId, refuse ? 'aborted' : 'committed');
          return { outcome: refuse ? Outcome.ABORTED : Outcome.COMMITTED, reason: null };
        }
        return {
          outcome: branch === 'committed' ? Outcome.COMMITTED : Outcome.ABORTED,
          reason: null,
        };
      }
      if (branch === 'aborted') {
        this.#witness.violation(
          `${p.name} told Commit for a branch it had aborted (${call.txnId})`,
        );
        return { outcome: Outcome.ABORTED, reason: null };
      }
      if (branch === 'prepared') {
        p.branches.set(call.txnId, 'committed');
      }
      return { outcome: Outcome.COMMITTED, reason: null };
    });
  }

  abort(call: ParticipantCall): Promise<AckResult> {
    this.#witness.phaseTwo(call.txnId, call.name, Outcome.ABORTED);
    return this.#call(call, 'Abort', (p): AckResult => {
      const branch = p.branches.get(call.txnId);
      if (branch === 'committed') {
        // Legitimate only for a one-phase commit the abort raced with.
        return { outcome: Outcome.COMMITTED, reason: null };
      }
      if (branch === undefined || branch === 'prepared') {
        p.branches.set(call.txnId, 'aborted'); // an Abort before the Prepare is remembered
      }
      return { outcome: branch === 'released' ? null : Outcome.ABORTED, reason: null };
    });
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
