import { StoreUnavailableError } from 'twopc/internal/contract/errors';
import type { TxState, Outcome, Vote } from 'twopc/internal/contract/tx-state';
import type { SimScheduler } from './sim-scheduler.ts';
import type { Counted } from './sim-stats.ts';

/** A participant row of the simulated log. */
export interface SimParticipantRow {
  name: string;
  endpoint: string;
  enlistedAt: number;
  /** Named at Begin (in the row from the start), not enlisted after. */
  atBegin: boolean;
  vote: Vote | null;
  voteReason: string | null;
  ackedAt: number | null;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: number | null;
  heuristic: Outcome | null;
  votedAt: number | null;
}

/** A transaction row of the simulated log (the columns the store reads and writes). */
export interface SimRow {
  txnId: string;
  state: TxState;
  reason: string | null;
  labels: Record<string, string>;
  leaseMs: number;
  leaseExpiresAt: number;
  onePhase: boolean;
  ownerId: string | null;
  traceContext: string | null;
  tenant: string;
  principal: string | null;
  createdAt: number;
  decidedAt: number | null;
  finishedAt: number | null;
  updatedAt: number;
  /** The incarnation the transaction began in (null: none could be read). */
  token: string | null;
  participantCount: number;
  participants: SimParticipantRow[];
}

/** The logged tables. */
export interface LogTables {
  rows: Map<string, SimRow>;
  coordinators: Map<string, { name: string; leaseExpiresAt: number }>;
}

/** A committed write: re-applied to the durable tables when the WAL is flushed. */
type Op = (t: LogTables) => void;

/** Fault rates of the simulated log, per round trip. */
export interface LogFaults {
  /** The connection fails before the statement runs. */
  readonly refuse: number;
  /** The statement runs (and commits), but its answer is lost: ambiguous. */
  readonly loseAnswer: number;
  /**
   * A forced write commits and is visible to every reader, but its flush
   * (a synchronous standby's wait) is cut short: the answer is an error and
   * a crash before the next flush loses it.
   */
  readonly notDurable: number;
  /** The round trip takes 0.5–5 s. */
  readonly slow: number;
}

/** A process talking to the log and the participants. */
export interface SimProcessRef {
  readonly alive: boolean;
  /** The log's link from this process is cut: requests and answers are lost. */
  readonly cutFromLog: boolean;
  /** Whether the link to one participant is cut. */
  cutFrom(participant: string): boolean;
  /** Hands an answer to the process: never to a dead one, later to a frozen one. */
  deliver(fn: () => void): void;
}

const emptyTables = (): LogTables => ({ rows: new Map(), coordinators: new Map() });

/**
 * The simulated PostgreSQL of the log: its tables as they are now (every
 * committed write), its tables as the flushed WAL holds them, and an
 * UNLOGGED incarnation token. A forced write flushes the WAL (and every
 * earlier write with it); unforced writes are flushed by the WAL writer
 * every `walWriterMs`. A crash keeps exactly the flushed writes, empties the
 * incarnation table and fails every connection: what DESIGN §3 rule 2
 * allows to be lost, and nothing more.
 */
export class SimLog {
  readonly #sched: SimScheduler;
  #live: LogTables = emptyTables();
  #durable: LogTables = emptyTables();
  #pending: Op[] = [];
  #incarnation: string | null = null;
  #tokens = 0;
  /** Bumped by every crash: connections of an earlier epoch are broken. */
  #epoch = 0;
  up = true;
  faults: LogFaults = { refuse: 0, loseAnswer: 0, notDurable: 0, slow: 0 };
  crashes = 0;
  /** Counts what happened (see SimStats). */
  readonly count: (what: Counted) => void;

  /** @param walWriterMs how often unforced writes are flushed (wal_writer_delay) */
  constructor(sched: SimScheduler, count: (what: Counted) => void, walWriterMs = 200) {
    this.#sched = sched;
    this.count = count;
    const walWriter = (): void => {
      this.#flush();
      sched.setTimeout(walWriter, walWriterMs);
    };
    sched.setTimeout(walWriter, walWriterMs);
  }

  /** The tables as a statement sees them. */
  get live(): LogTables {
    return this.#live;
  }

  /** The tables as they would come back after a crash now. */
  get durable(): LogTables {
    return this.#durable;
  }

  /** The incarnation token, made if the table is empty (twopc_store_token()). */
  token(): string {
    this.#incarnation ??= `incarnation-${++this.#tokens}`;
    return this.#incarnation;
  }

  /** The token if there is one (a statement reading the table without making one). */
  get currentToken(): string | null {
    return this.#incarnation;
  }

  /** Commits a write: applied now, durable once the WAL is flushed. */
  write(op: Op): void {
    op(this.#live);
    this.#pending.push(op);
  }

  #flush(): void {
    for (const op of this.#pending) {
      op(this.#durable);
    }
    this.#pending = [];
  }

  /** PostgreSQL crashes (or a standby is promoted): unflushed writes are lost. */
  crash(): void {
    this.#pending = [];
    this.#live = structuredClone(this.#durable);
    this.#incarnation = null;
    this.#epoch++;
    this.crashes++;
  }

  /**
   * One round trip: the statement runs when the request arrives, and the
   * answer travels back. `forced`: synchronous_commit = on (the WAL is
   * flushed before the answer). `what` names the statement for the counts.
   */
  roundTrip<T>(
    proc: SimProcessRef,
    statement: () => T,
    forced: boolean,
    what: 'decision' | null = null,
  ): Promise<T> {
    const rnd = this.#sched.random;
    const sentIn = this.#epoch;
    const fault = rnd.float();
    const notDurable = forced && rnd.chance(this.faults.notDurable);
    const slow = this.faults.slow > 0 && rnd.chance(this.faults.slow) ? rnd.int(500, 5_000) : 0;
    if (slow > 0) {
      this.count('log round trip slow');
    }
    return new Promise<T>((resolve, reject) => {
      const answer = (ok: boolean, value: T | unknown): void => {
        this.#sched.setTimeout(
          () =>
            proc.deliver(() => {
              if (ok) {
                resolve(value as T);
              } else {
                reject(value);
              }
            }),
          rnd.int(0, 4),
        );
      };
      const broken = (): StoreUnavailableError =>
        new StoreUnavailableError(new Error('connection to the log failed'));
      this.#sched.setTimeout(
        () => {
          const refused = fault < this.faults.refuse;
          if (!this.up || this.#epoch !== sentIn || refused || proc.cutFromLog) {
            if (refused && this.up) {
              this.count('log round trip refused');
            }
            answer(false, broken());
            return;
          }
          let result: T;
          try {
            result = statement();
          } catch (err) {
            answer(false, err);
            return;
          }
          if (notDurable) {
            this.count('forced write visible, not durable');
          } else if (forced) {
            this.#flush();
          }
          const ranIn = this.#epoch;
          this.#sched.setTimeout(
            () => {
              const lost = fault < this.faults.refuse + this.faults.loseAnswer;
              if (this.#epoch !== ranIn || lost || notDurable || proc.cutFromLog) {
                if (lost) {
                  this.count('log answer lost');
                }
                if (what === 'decision') {
                  this.count('decision write ambiguous');
                }
                proc.deliver(() => reject(broken()));
              } else {
                proc.deliver(() => resolve(result));
              }
            },
            rnd.int(0, 4) + (forced ? rnd.int(1, 6) : 0),
          );
        },
        rnd.int(0, 4) + slow,
      );
    });
  }
}
