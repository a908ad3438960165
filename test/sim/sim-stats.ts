/**
 * What a simulated run did, counted: so that a run of many seeds can say
 * what it searched, and fail when its world was empty or cowardly (nothing
 * committed, a fault that never fired, a rare path never taken). A check
 * that passes on a world where nothing happens proves nothing.
 */

/** Faults, each counted when it fires; a run of many seeds fails when one never does. */
export const FAULTS = [
  'log crash',
  'log outage',
  'log round trip refused',
  'log answer lost',
  'forced write visible, not durable',
  'log round trip slow',
  'coordinator killed',
  'coordinator frozen past its lease',
  'coordinator cut from the log',
  'coordinator cut from a participant',
  'participant down',
  'participant crash (unprepared work lost)',
  'participant gray (health ok, phase 2 fails)',
  'participant call lost',
  'participant call slow',
  'participant connection refused',
] as const;

/** Paths of the protocol a run of many seeds must take at least once. */
export const PATHS = [
  'one-phase committed',
  'one-phase refused',
  'one-phase in doubt (ABORTING)',
  'Prepare before the claim (early)',
  'Prepare to a participant the log does not list',
  'late Prepare refused (Abort first)',
  'aborted: lease expired',
  'aborted: coordinator recovery',
  'aborted: log store restarted',
  'Abort given up (no Prepare reached it)',
  'decision write ambiguous',
  'decision adopted from another decider',
  'phase 2 retried',
  'client told COMMITTED',
  'client told ABORTED',
] as const;

/** The plain counts of a run. */
export const COUNTS = [
  'transactions begun',
  'ended COMMITTED',
  'ended ABORTED',
  'outcomes told',
  'fault-free transactions',
  'fault-free COMMITTED',
  /** Rare in drawn worlds: its pinned scenario makes sure it is reached. */
  'decision over a row the log lost',
] as const;

export type Counted = (typeof FAULTS)[number] | (typeof PATHS)[number] | (typeof COUNTS)[number];

/** Counters of one run, or of many added up. */
export class SimStats {
  readonly counts = new Map<Counted, number>();

  bump(what: Counted, by = 1): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + by);
  }

  get(what: Counted): number {
    return this.counts.get(what) ?? 0;
  }

  add(other: SimStats): void {
    other.counts.forEach((n, what) => this.bump(what, n));
  }

  /** The coverage table, one line per counter, in a fixed order. */
  table(seeds: number): string[] {
    const line = (what: string, n: number): string =>
      `  ${what.padEnd(46)} ${String(n).padStart(9)}  ${(n / Math.max(seeds, 1)).toFixed(2).padStart(7)}/seed`;
    return [
      'counts:',
      ...COUNTS.map((c) => line(c, this.get(c))),
      'faults fired:',
      ...FAULTS.map((c) => line(c, this.get(c))),
      'paths taken:',
      ...PATHS.map((c) => line(c, this.get(c))),
    ];
  }

  /**
   * What makes a run of many seeds fail although every seed kept the
   * invariants: a fault that never fired, a path never taken, too few
   * commits where nothing failed.
   */
  emptiness(floor: { faultFreeCommitShare: number }): string[] {
    const problems: string[] = [];
    for (const f of FAULTS) {
      if (this.get(f) === 0) {
        problems.push(`fault never fired: ${f}`);
      }
    }
    for (const p of PATHS) {
      if (this.get(p) === 0) {
        problems.push(`path never taken: ${p}`);
      }
    }
    const free = this.get('fault-free transactions');
    const share = free === 0 ? 0 : this.get('fault-free COMMITTED') / free;
    if (share < floor.faultFreeCommitShare) {
      problems.push(
        `only ${(share * 100).toFixed(1)} % of fault-free transactions committed (floor ${floor.faultFreeCommitShare * 100} %)`,
      );
    }
    return problems;
  }
}
