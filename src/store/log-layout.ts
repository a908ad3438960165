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
 * The layout new transactions are created in. Rows, while a release that
 * reads only rows may share the log; the release after the one that reads
 * both flips it to FOLDED (docs/upgrading.md).
 */
export const CREATED_LAYOUT: LogLayout = LogLayout.ROWS;

/**
 * The layout a store creates unless told otherwise: CREATED_LAYOUT, or the
 * internal `TWOPC_INTERNAL_LOG_LAYOUT` (tests and the benchmark run
 * coordinator processes creating the folded layout before it is the
 * default). Anything else there is refused, not ignored.
 * @internal
 */
export function createdLayout(env: Readonly<Record<string, string | undefined>>): LogLayout {
  const value = env.TWOPC_INTERNAL_LOG_LAYOUT;
  if (value === undefined || value === '') {
    return CREATED_LAYOUT;
  }
  if (value !== LogLayout.ROWS && value !== LogLayout.FOLDED) {
    throw new Error(`TWOPC_INTERNAL_LOG_LAYOUT must be rows or folded, not '${value}'`);
  }
  return value;
}
