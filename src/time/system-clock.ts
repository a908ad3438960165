import type { Cancel, Clock } from './clock.ts';

/** The real clock: performance.now() and unref'd Node timers. */
export class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }

  setTimeout(fn: () => void, ms: number): Cancel {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  }
}
