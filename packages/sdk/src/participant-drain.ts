import type { Clock } from './time/clock.ts';

/** What a participant holds at a moment: work the coordinator may still ask about. */
export interface Held {
  /** Branches joined here and not yet asked to prepare or told the outcome. */
  readonly joined: number;
  /** Branches prepared here and not yet told the outcome. */
  readonly prepared: number;
}

/**
 * The stop of a participant (see TwopcParticipant.drain): a flag that
 * refuses new work once set, a count of calls still running (business and
 * phase calls), and waiters woken whenever one ends, until nothing is held.
 */
export class ParticipantDrain {
  readonly #clock: Clock;
  #draining = false;
  #running = 0;
  #wake: (() => void)[] = [];

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Whether the participant is stopping: it takes no new work. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Runs a call, counted as running until it ends. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.#running++;
    try {
      return await fn();
    } finally {
      this.#running--;
      this.changed();
    }
  }

  /** Something held was let go (a branch told its outcome): wakes the waiters. */
  changed(): void {
    this.#wake.splice(0).forEach((f) => f());
  }

  /**
   * Refuses new work from now on, then waits until no call runs and
   * `held()` counts nothing, or `timeoutMs` passed. Returns what is still
   * held then (nothing: it is drained).
   */
  async stop(held: () => Held, timeoutMs: number): Promise<Held> {
    this.#draining = true;
    const until = this.#clock.now() + timeoutMs;
    for (;;) {
      const now = held();
      const left = until - this.#clock.now();
      if ((this.#running === 0 && now.joined === 0 && now.prepared === 0) || left <= 0) {
        return now;
      }
      await new Promise<void>((resolve) => {
        const cancel = this.#clock.setTimeout(resolve, left);
        this.#wake.push(() => {
          cancel();
          resolve();
        });
      });
    }
  }
}
