import { StoreBusyError } from 'twopc/internal/contract/errors';
import type { Clock } from 'twopc/internal/time/clock';

/** Bounds of the work waiting on the log. */
export interface AdmissionLimits {
  /** Operations of new work waiting on the log at once; more are refused. */
  readonly maxPending: number;
  /** New work is refused while the oldest waiting operation is older than this. */
  readonly stallMs: number;
}

/**
 * Admission of new work (Begin, Enlist, Heartbeat, the start of a Commit)
 * to a log that may be slow. Instead of queueing without bound behind a
 * stalled PostgreSQL, new work is refused at once (RESOURCE_EXHAUSTED with
 * a retry hint) when too much already waits or the oldest has waited too
 * long. Work already decided (decisions, phase 2, completions) is never
 * refused: it finishes when the log answers again.
 */
export class StoreAdmission {
  readonly #clock: Clock;
  readonly #limits: AdmissionLimits;
  // Insertion-ordered: the first entry is the oldest waiting operation.
  readonly #pending = new Map<number, number>();
  #next = 0;
  #refused = 0;

  constructor(clock: Clock, limits: AdmissionLimits) {
    this.#clock = clock;
    this.#limits = limits;
  }

  /** Operations of new work now waiting on the log. */
  get pending(): number {
    return this.#pending.size;
  }

  /** New work refused so far. */
  get refused(): number {
    return this.#refused;
  }

  /**
   * Runs `work` if the log keeps up.
   * @throws StoreBusyError when it does not
   */
  async admit<T>(work: () => Promise<T>): Promise<T> {
    this.#check();
    const id = this.#next++;
    this.#pending.set(id, this.#clock.now());
    try {
      return await work();
    } finally {
      this.#pending.delete(id);
    }
  }

  #check(): void {
    const { maxPending, stallMs } = this.#limits;
    if (this.#pending.size >= maxPending) {
      this.#refused++;
      throw new StoreBusyError(`${this.#pending.size} operations already wait for it`, stallMs);
    }
    const oldest = this.#pending.values().next();
    const waited = oldest.done === true ? 0 : this.#clock.now() - oldest.value;
    if (waited > stallMs) {
      this.#refused++;
      throw new StoreBusyError(`it has not answered for ${Math.round(waited)} ms`, stallMs);
    }
  }
}
