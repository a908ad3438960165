import { DeadlineExceededError } from 'twopc/internal/contract/errors';

/** Waits for a promise unless the signal fires first. */
export function raceSignal<T>(work: Promise<T>, until: AbortSignal, what: string): Promise<T> {
  if (until.aborted) {
    return Promise.reject(new DeadlineExceededError(what));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new DeadlineExceededError(what));
    until.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => until.removeEventListener('abort', onAbort));
  });
}
