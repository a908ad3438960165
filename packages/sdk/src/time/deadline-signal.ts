import type { Clock } from './clock.ts';

/**
 * An AbortSignal that fires after `ms` on the clock (never when `ms` is
 * Infinity), or when `also` fires. `dispose` cancels the timer.
 */
export function deadlineSignal(
  clock: Clock,
  ms: number,
  also?: AbortSignal,
): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const cancel = Number.isFinite(ms)
    ? clock.setTimeout(() => controller.abort(), Math.max(0, ms))
    : () => undefined;
  const onAlso = (): void => controller.abort();
  also?.addEventListener('abort', onAlso, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      cancel();
      also?.removeEventListener('abort', onAlso);
    },
  };
}

/**
 * Milliseconds until a gRPC deadline (a wall-clock instant, or Infinity).
 * gRPC deadlines travel as instants; this is the one place they are turned
 * into durations.
 */
export function msUntil(deadline: Date | number): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? at - Date.now() : Infinity;
}

/** The wall-clock instant `ms` from now, as gRPC call options take it. */
export function deadlineIn(ms: number): Date {
  return new Date(Date.now() + ms);
}
