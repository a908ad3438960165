import type { Cancel, Clock } from './clock.ts';

/** Options of the real clock. */
export interface SystemClockOptions {
  /**
   * Timers keep the process alive. The coordinator's own timers are
   * background work and must not (a process with nothing else to do exits);
   * a client's retry back-off is awaited by its caller, and an unref'd timer
   * there lets Node exit in the middle of the await, silently, with code 0.
   */
  readonly holdProcess?: boolean;
}

/** The real clock: performance.now() and Node timers (unref'd unless told otherwise). */
export class SystemClock implements Clock {
  readonly #hold: boolean;

  constructor(options: SystemClockOptions = {}) {
    this.#hold = options.holdProcess ?? false;
  }

  now(): number {
    return performance.now();
  }

  setTimeout(fn: () => void, ms: number): Cancel {
    const timer = setTimeout(fn, ms);
    if (!this.#hold) {
      timer.unref();
    }
    return () => clearTimeout(timer);
  }
}
