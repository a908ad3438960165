import type { Clock } from 'twopc/internal/time/clock';

/**
 * Lets one warning per key through every `everyMs`, counting the ones it
 * holds back: a participant that is down for a minute under load yields a
 * handful of lines, not one per transaction and retry.
 */
export class WarnLimiter {
  readonly #clock: Clock;
  readonly #everyMs: number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(clock: Clock, everyMs = 10_000) {
    this.#clock = clock;
    this.#everyMs = everyMs;
  }

  /** Returns how many warnings were held back since the last one, or null to hold this one back too. */
  allow(key: string): number | null {
    const now = this.#clock.now();
    const entry = this.#last.get(key);
    if (entry !== undefined && now - entry.at < this.#everyMs) {
      entry.suppressed++;
      return null;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.#last.set(key, { at: now, suppressed: 0 });
    if (this.#last.size > 10_000) {
      this.#last.clear();
    }
    return suppressed;
  }
}
