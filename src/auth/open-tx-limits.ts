import { LimitExceededError } from '../core/errors.ts';
import type { Clock } from '../time/clock.ts';

/** Caps on unfinished transactions. */
export interface OpenTxCaps {
  readonly global: number;
  readonly perTenant: number;
}

/** What the limiter reads of the log. */
export interface OpenTxCounter {
  /** Unfinished transactions of a tenant (null: of all). */
  openCount(tenant: string | null): Promise<number>;
}

/** How stale a count may be before it is read again (and the retry hint given). */
const REFRESH_MS = 1_000;

interface Count {
  value: number;
  at: number;
  reading: Promise<void> | null;
}

/**
 * Admission of Begin against the caps on unfinished transactions, globally
 * and per tenant. The counts are read from the log (so they hold across
 * coordinators and restarts) at most once a second, and every Begin admitted
 * here since is added: a flood cannot outrun the cap by more than one
 * second of another coordinator's admissions.
 */
export class OpenTxLimits {
  readonly #caps: OpenTxCaps;
  readonly #counter: OpenTxCounter;
  readonly #clock: Clock;
  readonly #counts = new Map<string | null, Count>();

  constructor(caps: OpenTxCaps, counter: OpenTxCounter, clock: Clock) {
    this.#caps = caps;
    this.#counter = counter;
    this.#clock = clock;
  }

  /** Counts one more Begin of `tenant`. @throws LimitExceededError naming the cap */
  async admit(tenant: string): Promise<void> {
    const all = await this.#current(null);
    const mine = await this.#current(tenant);
    if (mine.value >= this.#caps.perTenant) {
      throw new LimitExceededError(
        'TWOPC_MAX_OPEN_TRANSACTIONS_PER_TENANT',
        `tenant '${tenant}' has ${mine.value} unfinished transactions, the cap is ${this.#caps.perTenant}`,
        REFRESH_MS,
      );
    }
    if (all.value >= this.#caps.global) {
      throw new LimitExceededError(
        'TWOPC_MAX_OPEN_TRANSACTIONS',
        `${all.value} unfinished transactions, the cap is ${this.#caps.global}`,
        REFRESH_MS,
      );
    }
    all.value++;
    mine.value++;
  }

  async #current(tenant: string | null): Promise<Count> {
    let count = this.#counts.get(tenant);
    if (count === undefined) {
      count = { value: 0, at: -Infinity, reading: null };
      this.#counts.set(tenant, count);
    }
    if (this.#clock.now() - count.at >= REFRESH_MS) {
      const c = count;
      c.reading ??= this.#counter.openCount(tenant).then(
        (n) => {
          c.value = n;
          c.at = this.#clock.now();
          c.reading = null;
        },
        (err: unknown) => {
          c.reading = null;
          throw err;
        },
      );
      await c.reading;
    }
    return count;
  }
}
