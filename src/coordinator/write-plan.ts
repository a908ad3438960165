import type { TxRecord } from '../core/tx-record.ts';
import { isDecided, isTerminal, TxState } from '../core/tx-state.ts';

/** Which log write a transition needs before its effects may run. */
export type WritePlan =
  | { readonly kind: 'none' }
  /** The commit decision: forced to disk (synchronous_commit = on). */
  | { readonly kind: 'decision'; readonly forced: boolean }
  /** The final state after every acknowledgement (or a one-phase answer). */
  | { readonly kind: 'completion'; readonly from: TxState }
  /** One more participant acknowledged; others are still owed. */
  | { readonly kind: 'ack'; readonly names: readonly string[] };

/**
 * Classifies a transition. Only a commit decision is forced: every other
 * write is safe to lose, because a missing decision reads as abort
 * (presumed abort) and a missing acknowledgement only repeats a phase-2
 * message, which participants treat idempotently. A one-phase outcome is the
 * participant's decision, not ours, so it needs no forced write either.
 */
export function planWrite(before: TxRecord, next: TxRecord): WritePlan {
  if (before.state === next.state) {
    const names = next.participants
      .filter((p, i) => p.acked && !before.participants[i]?.acked)
      .map((p) => p.name);
    return names.length > 0 ? { kind: 'ack', names } : { kind: 'none' };
  }
  if (next.state === TxState.PREPARING) {
    return { kind: 'none' };
  }
  if (!isDecided(before.state)) {
    if (next.onePhase && isTerminal(next.state)) {
      return { kind: 'completion', from: before.state };
    }
    const commit = next.state === TxState.COMMITTING || next.state === TxState.COMMITTED;
    return { kind: 'decision', forced: commit };
  }
  return { kind: 'completion', from: before.state };
}
