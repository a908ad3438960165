/**
 * How a transaction's participants are laid out in the log (migration
 * 000011). Each row says which it has: `participants` NULL is the rows
 * layout, anything else the folded one. The store reads and updates both,
 * whichever it creates.
 * - `rows`: one row per participant in twopc_participants, the trace
 *   context in `trace_context` (the layout of release 0.1.0, which reads
 *   only this one).
 * - `folded`: the participants as a JSON array in the transaction row's
 *   `participants`, the trace context in `trace`: both after the columns
 *   that change, so that PostgreSQL's prefix/suffix compression of a HOT
 *   update leaves them out of its WAL record; no participant row, no
 *   participant index entry, no foreign-key lock.
 * @internal
 */
export const LogLayout = { ROWS: 'rows', FOLDED: 'folded' } as const;
export type LogLayout = (typeof LogLayout)[keyof typeof LogLayout];

/**
 * The layout new transactions are created in: FOLDED, the release after the
 * one that reads both (docs/upgrading.md). Only while no live coordinator
 * of an older release shares the log (layoutAmong); migration 000012 makes
 * release 0.1.0 refuse to start over it.
 */
export const CREATED_LAYOUT: LogLayout = LogLayout.FOLDED;

/** The first release that reads the folded layout. */
export const FIRST_FOLDED_READER = '0.2.0';

/**
 * The layout a store is forced to create: the internal
 * `TWOPC_INTERNAL_LOG_LAYOUT` (tests and the benchmark run coordinator
 * processes creating either layout whatever else shares the log), or null
 * when unset (the store then follows layoutAmong). Anything else there is
 * refused, not ignored.
 * @internal
 */
export function forcedLayout(env: Readonly<Record<string, string | undefined>>): LogLayout | null {
  const value = env.TWOPC_INTERNAL_LOG_LAYOUT;
  if (value === undefined || value === '') {
    return null;
  }
  if (value !== LogLayout.ROWS && value !== LogLayout.FOLDED) {
    throw new Error(`TWOPC_INTERNAL_LOG_LAYOUT must be rows or folded, not '${value}'`);
  }
  return value;
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/**
 * Whether a coordinator of `version` (as twopc_coordinators records it)
 * reads the folded layout: a release at or after FIRST_FOLDED_READER.
 * Semantic versions x.y.z[-pre][+build], compared as semver orders them but
 * only as far as this needs: a pre-release (0.2.0-dev.0) comes before its
 * release, so it is older. NULL is release 0.1.0 (it registered no
 * version); anything unparsable counts as older too: the rows layout is
 * the one every release reads.
 */
export function readsFolded(version: string | null): boolean {
  const v = version === null ? null : SEMVER.exec(version);
  const first = SEMVER.exec(FIRST_FOLDED_READER);
  if (v === null || first === null) {
    return false;
  }
  for (const i of [1, 2, 3]) {
    const diff = Number(v[i]) - Number(first[i]);
    if (diff !== 0) {
      return diff > 0;
    }
  }
  return v[4] === undefined;
}

/**
 * The layout to create while coordinators of `versions` are live on the
 * log: CREATED_LAYOUT, unless one of them is of a release that reads only
 * rows.
 */
export function layoutAmong(versions: readonly (string | null)[]): LogLayout {
  return versions.every(readsFolded) ? CREATED_LAYOUT : LogLayout.ROWS;
}
