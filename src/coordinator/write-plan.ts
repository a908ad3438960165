import type { TxRecord } from '../core/tx-record.ts';
import { isDecided, isTerminal, TxState } from 'twopc/internal/contract/tx-state';

/** Which log write a transition needs before its effects may run. */
export type WritePlan =
  | { readonly kind: 'none' }
  /**
   * A one-phase commit is about to leave: its PREPARING claim is made durable
   * first (forced), and refused if the store restarted since Begin.
   */
  | { readonly kind: 'confirm-one-phase' }
  /** A commit or abort decision: forced, and a commit only over an intact log. */
  | { readonly kind: 'decision'; readonly commit: boolean }
  /**
   * The final state after every acknowledgement, or a one-phase outcome. The
   * latter is the first record of its outcome, so it is forced; the former
   * only restates a durable decision, so it is not.
   */
  | { readonly kind: 'completion'; readonly from: TxState; readonly forced: boolean }
  /** One more participant acknowledged; others are still owed. */
  | { readonly kind: 'ack'; readonly names: readonly string[] };

/**
 * Classifies a transition under DESIGN §3 rule 2: a write may stay unforced
 * only if losing it can never let the transaction commit and nobody has been
 * told an outcome that depends on it. Every decision is told (to
 * participants, to the client), so every decision is forced; a one-phase
 * outcome is told to the client, so it is forced; an acknowledgement or a
 * completion after a durable decision only saves repeating phase 2.
 */
export function planWrite(before: TxRecord, next: TxRecord): WritePlan {
  if (before.state === next.state) {
    const names = next.participants
      .filter((p, i) => p.acked && !before.participants[i]?.acked)
      .map((p) => p.name);
    return names.length > 0 ? { kind: 'ack', names } : { kind: 'none' };
  }
  if (next.state === TxState.PREPARING) {
    return next.onePhase ? { kind: 'confirm-one-phase' } : { kind: 'none' };
  }
  if (!isDecided(before.state)) {
    if (next.onePhase && isTerminal(next.state)) {
      return { kind: 'completion', from: before.state, forced: true };
    }
    const commit = next.state === TxState.COMMITTING || next.state === TxState.COMMITTED;
    return { kind: 'decision', commit };
  }
  return { kind: 'completion', from: before.state, forced: next.onePhase };
}
