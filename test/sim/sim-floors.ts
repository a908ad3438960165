/** Below this many seeds a run's coverage is printed but not judged. */
export const JUDGED_FROM = 200;

/**
 * Of the transactions begun after every fault healed, at least this share
 * commits (each participant votes ABORT 7 % of the time, a one-phase
 * participant refuses 5 %: about 80 % commit in a correct world).
 */
export const FAULT_FREE_COMMIT_FLOOR = 0.6;
