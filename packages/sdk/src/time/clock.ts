/** Cancels a scheduled callback. */
export type Cancel = () => void;

/**
 * The only source of time for in-process timers. `now()` is monotonic
 * milliseconds (never jumps with the wall clock); deadlines stored in the log
 * are compared with the database's now() instead.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Cancel;
}

/** Sleeps on a clock; resolves early (false) when the signal aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(false);
      return;
    }
    const onAbort = (): void => {
      cancel();
      resolve(false);
    };
    const cancel = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
