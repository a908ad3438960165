import { LimitExceededError } from 'twopc/internal/contract/errors';
import type { Clock } from 'twopc/internal/time/clock';

/** Caps on unfinished transactions. */
export interface OpenTxCaps {
  readonly global: number;
  readonly perTenant: number;
}

/**
 * Whether the caps can all be met: every tenant at its own cap must fit
 * under the global one, or tenants at their caps starve the others (two
 * tenants at 10,000 under a global 15,000 leave a third 0).
 * @param tenants the tenants known at start-up (the identities file's)
 * @returns a warning saying what to change, or null
 */
export function capsWarning(caps: OpenTxCaps, tenants: readonly string[]): string | null {
  const n = new Set(tenants).size;
  if (n < 2 || n * caps.perTenant <= caps.global) {
    return null;
  }
  return `the global cap on open transactions (${caps.global}) is below ${n} tenants × the per-tenant cap (${caps.perTenant}) = ${n * caps.perTenant}: tenants at their caps can leave the others nothing; raise --max-open-transactions to ${n * caps.perTenant} or lower --max-open-transactions-per-tenant to ${Math.floor(caps.global / n)}`;
}

/** What the limiter reads of the log. */
export interface OpenTxCounter {
  /** Unfinished transactions of a tenant (null: of all). */
  openCount(tenant: string | null): Promise<number>;
}

/** How stale a count may be before it is read again (and the retry hint given). */
const REFRESH_MS = 1_000;

interface Count {
  /** The log's count when last read, plus admissions here since. */
  value: number;
  at: number;
  reading: Promise<void> | null;
  /** Admitted here and not yet written: no read can see them. */
  unwritten: number;
}

/** An admitted Begin: say whether its row was written (it then counts from the log). */
export type OpenTxTicket = (written: boolean) => void;

/**
 * Admission of Begin against the caps on unfinished transactions, globally
 * and per tenant. The counts are read from the log (so they hold across
 * coordinators and restarts) at most once a second, in the background, and
 * every Begin admitted here and not yet written is added: a flood cannot
 * outrun the cap by more than one second of another coordinator's
 * admissions. A Begin never
 * waits for a count: with the log slow or away, admission must not become a
 * queue of its own (the store's admission answers for the log).
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
  admit(tenant: string): OpenTxTicket {
    const all = this.#current(null);
    const mine = this.#current(tenant);
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
    for (const c of [all, mine]) {
      c.value++;
      c.unwritten++;
    }
    let open = true;
    return (written) => {
      if (!open) {
        return;
      }
      open = false;
      for (const c of [all, mine]) {
        c.unwritten--;
        if (!written) {
          c.value--;
        }
      }
    };
  }

  #current(tenant: string | null): Count {
    let count = this.#counts.get(tenant);
    if (count === undefined) {
      count = { value: 0, at: -Infinity, reading: null, unwritten: 0 };
      this.#counts.set(tenant, count);
    }
    if (this.#clock.now() - count.at >= REFRESH_MS && count.reading === null) {
      const c = count;
      c.reading = this.#counter.openCount(tenant).then(
        (n) => {
          c.value = n + c.unwritten;
          c.at = this.#clock.now();
          c.reading = null;
        },
        () => {
          // the log away: keep counting locally; the store refuses new work itself
          c.at = this.#clock.now();
          c.reading = null;
        },
      );
    }
    return count;
  }
}
