import type { Cancel, Clock } from 'twopc/internal/time/clock';
import type { HealthProbe } from './health-probe.ts';

/** Endpoints whose last state is remembered once nobody watches them. */
const LAST_MAX = 10_000;

/** Liveness rules (DESIGN §5). */
export interface HealthConfig {
  /** Time between checks of one endpoint. */
  readonly intervalMs: number;
  /** Consecutive misses after which the endpoint is DOWN. */
  readonly missLimit: number;
}

/** A watcher's view of one endpoint. */
export interface Watch {
  /** Whether the endpoint is DOWN now. */
  readonly down: boolean;
  /** Resolves with a description when the endpoint goes DOWN. */
  readonly whenDown: Promise<string>;
  /** Resolves when the endpoint answers again (at once if it is not DOWN). */
  whenUp(): Promise<void>;
  release(): void;
}

interface Endpoint {
  watchers: number;
  misses: number;
  down: boolean;
  onDown: ((why: string) => void)[];
  onUp: (() => void)[];
  cancel: Cancel | null;
  /** A check made at once (probeNow) still running, shared by whoever asks meanwhile. */
  probing: Promise<boolean> | null;
}

/**
 * Heartbeats to participants: one checker per endpoint, shared by every
 * transaction waiting on it, running only while someone watches. An
 * endpoint that misses `missLimit` checks in a row is DOWN until it answers
 * again. A slow but healthy participant answers its checks and is never DOWN.
 */
export class HealthMonitor {
  readonly #probe: HealthProbe;
  readonly #clock: Clock;
  readonly #config: HealthConfig;
  readonly #endpoints = new Map<string, Endpoint>();
  /** The last state of each endpoint checked (at most LAST_MAX, oldest dropped). */
  readonly #last = new Map<string, boolean>();

  constructor(probe: HealthProbe, clock: Clock, config: HealthConfig) {
    this.#probe = probe;
    this.#clock = clock;
    this.#config = config;
  }

  /** How many endpoints are being checked (one loop each). */
  get checking(): number {
    return this.#endpoints.size;
  }

  /**
   * What the monitor believes of every endpoint it has checked: true while
   * up, false when DOWN; for one nobody watches any more, its last state
   * (a DOWN one is checked until it answers, so that is never stale).
   */
  states(): Map<string, boolean> {
    return new Map([
      ...this.#last,
      ...[...this.#endpoints].map(([endpoint, e]) => [endpoint, !e.down] as const),
    ]);
  }

  /** Whether an endpoint is known DOWN. */
  isDown(endpoint: string): boolean {
    return this.#endpoints.get(endpoint)?.down ?? false;
  }

  /**
   * Whether an endpoint answers now. One believed DOWN is checked at once,
   * outside its schedule (one check shared by every caller meanwhile); an
   * answer brings it back up for everyone waiting on it. What a call about
   * to go to an endpoint believed DOWN asks first, and what a participant's
   * own Enlist prompts: a participant back from a restart is not taken for
   * DOWN until its next scheduled check (DESIGN §3 rule 16).
   */
  probeNow(endpoint: string): Promise<boolean> {
    const e = this.#endpoints.get(endpoint);
    if (e === undefined || !e.down) {
      return Promise.resolve(true);
    }
    e.probing ??= this.#probe.check(endpoint, this.#config.intervalMs).then((alive) => {
      e.probing = null;
      if (alive && this.#endpoints.get(endpoint) === e) {
        this.#answered(endpoint, e);
      }
      return alive;
    });
    return e.probing;
  }

  /** Starts (or joins) the checks of an endpoint. */
  watch(endpoint: string): Watch {
    let e = this.#endpoints.get(endpoint);
    if (e === undefined) {
      e = {
        watchers: 0,
        misses: 0,
        down: false,
        onDown: [],
        onUp: [],
        cancel: null,
        probing: null,
      };
      this.#endpoints.set(endpoint, e);
      this.#schedule(endpoint, e);
    }
    const entry = e;
    entry.watchers++;
    let released = false;
    let notify: (why: string) => void = () => undefined;
    const whenDown = new Promise<string>((resolve) => {
      notify = resolve;
      entry.onDown.push(resolve);
    });
    return {
      get down() {
        return entry.down;
      },
      whenDown,
      whenUp: () =>
        entry.down ? new Promise<void>((resolve) => entry.onUp.push(resolve)) : Promise.resolve(),
      release: () => {
        if (!released) {
          released = true;
          entry.onDown = entry.onDown.filter((f) => f !== notify);
          this.#release(endpoint, entry);
        }
      },
    };
  }

  /**
   * The last watcher left. An endpoint that is up is forgotten; one that is
   * DOWN keeps being checked until it answers, so that what the monitor
   * reports (twopc_participant_up) never stays DOWN for an endpoint that is
   * back but that nobody waits on any more.
   */
  #release(endpoint: string, e: Endpoint): void {
    e.watchers--;
    if (e.watchers === 0 && !e.down) {
      this.#forget(endpoint, e);
    }
  }

  #forget(endpoint: string, e: Endpoint): void {
    e.cancel?.();
    this.#endpoints.delete(endpoint);
    e.onUp.splice(0).forEach((f) => f());
  }

  #schedule(endpoint: string, e: Endpoint): void {
    e.cancel = this.#clock.setTimeout(() => {
      e.cancel = null;
      void this.#check(endpoint, e);
    }, this.#config.intervalMs);
  }

  async #check(endpoint: string, e: Endpoint): Promise<void> {
    const alive = await this.#probe.check(endpoint, this.#config.intervalMs);
    if (this.#endpoints.get(endpoint) !== e) {
      return; // released meanwhile
    }
    if (alive) {
      if (this.#answered(endpoint, e)) {
        return;
      }
    } else if (++e.misses >= this.#config.missLimit && !e.down) {
      e.down = true;
      this.#remember(endpoint, false);
      const why = `${e.misses} heartbeats missed in a row (every ${this.#config.intervalMs} ms)`;
      e.onDown.splice(0).forEach((f) => f(why));
    }
    this.#schedule(endpoint, e);
  }

  /** The endpoint answered: up again. Returns whether it was forgotten (nobody watches it). */
  #answered(endpoint: string, e: Endpoint): boolean {
    this.#remember(endpoint, true);
    e.misses = 0;
    if (e.down) {
      e.down = false;
      e.onUp.splice(0).forEach((f) => f());
    }
    if (e.watchers === 0) {
      this.#forget(endpoint, e); // back up, and nobody waits on it: reported up, then forgotten
      return true;
    }
    return false;
  }

  #remember(endpoint: string, up: boolean): void {
    this.#last.delete(endpoint);
    this.#last.set(endpoint, up);
    if (this.#last.size > LAST_MAX) {
      const oldest = this.#last.keys().next().value;
      if (oldest !== undefined) {
        this.#last.delete(oldest);
      }
    }
  }

  /** Stops every check. */
  close(): void {
    for (const e of this.#endpoints.values()) {
      e.cancel?.();
      e.onUp.splice(0).forEach((f) => f());
    }
    this.#endpoints.clear();
  }
}
