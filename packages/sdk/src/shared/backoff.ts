/** Capped exponential backoff with jitter. */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
}

/**
 * Delay before retry number `attempt` (1-based): exponential from `baseMs`,
 * capped at `capMs`, with "equal jitter" (half fixed, half random) so that
 * retries of many transactions to one participant spread out but never
 * collapse to zero.
 */
export function backoffMs(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(exp / 2 + random() * (exp / 2));
}
