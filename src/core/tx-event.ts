import type { Outcome, Vote } from 'twopc/internal/contract/tx-state';

/**
 * Everything that can happen to a transaction. Expected outcomes (an ABORT
 * vote, a timeout, a repeated request) are events, not errors.
 */
export type TxEvent =
  /** The client asked to commit. */
  | { readonly type: 'commit:requested'; readonly onePhaseAllowed: boolean }
  /** The client, an operator or the shell asked to abort. */
  | { readonly type: 'abort:requested'; readonly reason: string }
  /** A participant answered Prepare. */
  | {
      readonly type: 'vote:received';
      readonly name: string;
      readonly vote: Vote;
      readonly reason: string | null;
    }
  /** A Prepare could not be delivered or answered in time. */
  | { readonly type: 'prepare:failed'; readonly name: string; readonly reason: string }
  /** The single participant answered a one-phase Commit. */
  | {
      readonly type: 'onephase:answered';
      readonly outcome: Outcome;
      readonly reason: string | null;
    }
  /** A participant acknowledged phase 2, reporting its branch's outcome. */
  | { readonly type: 'ack:received'; readonly name: string; readonly outcome: Outcome | null }
  /**
   * Abort could not be delivered to a participant after the allowed
   * attempts. Only one that never voted PREPARED may be given up on, and the
   * shell gives up only on one that no Prepare ever reached (its connection
   * was refused): it holds nothing.
   */
  | { readonly type: 'abort:undeliverable'; readonly name: string }
  /** The lease of an ACTIVE transaction ran out (compared with the database clock). */
  | { readonly type: 'lease:expired' }
  /** A coordinator took over the transaction after its owner died. */
  | { readonly type: 'tx:recovered' };

export type TxEventType = TxEvent['type'];

/** Every event type, for exhaustive tests. */
export const TX_EVENT_TYPES: readonly TxEventType[] = [
  'commit:requested',
  'abort:requested',
  'vote:received',
  'prepare:failed',
  'onephase:answered',
  'ack:received',
  'abort:undeliverable',
  'lease:expired',
  'tx:recovered',
];
