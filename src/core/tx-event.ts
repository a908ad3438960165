import type { Outcome, Vote } from 'twopc/internal/contract/tx-state';

/**
 * Everything that can happen to a transaction. Expected outcomes (an ABORT
 * vote, a timeout, a repeated request) are events, not errors.
 */
export type TxEvent =
  /** The client asked to commit. */
  | { readonly type: 'commit:requested'; readonly onePhaseAllowed: boolean }
  /**
   * The client, an operator or the shell asked to abort. `kind` says who
   * and why for the metrics (the shell's own aborts); absent, a client's.
   */
  | { readonly type: 'abort:requested'; readonly reason: string; readonly kind?: AbortKind }
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
  /**
   * The single participant's one-phase Commit provably never reached it
   * (no connection was ever made for it, or it was never sent): nothing
   * can have committed there, so the outcome is ABORTED, now.
   */
  | { readonly type: 'onephase:unsent'; readonly reason: string }
  /** A participant acknowledged phase 2, reporting its branch's outcome. */
  | { readonly type: 'ack:received'; readonly name: string; readonly outcome: Outcome | null }
  /**
   * Abort could not be delivered to a participant after the allowed
   * attempts. Only one that never voted PREPARED may be given up on, and the
   * shell gives up only on one that no Prepare ever reached (no connection
   * was ever made for it: refused, TLS handshake failed): it holds nothing.
   */
  | { readonly type: 'abort:undeliverable'; readonly name: string }
  /** The lease of an ACTIVE transaction ran out (compared with the database clock). */
  | { readonly type: 'lease:expired' }
  /** A coordinator took over the transaction after its owner died. */
  | { readonly type: 'tx:recovered' };

/**
 * Why a transaction aborted, as a metric label: a fixed set, never a
 * client's words (which would make a series each).
 */
export const ABORT_KINDS = [
  'CLIENT_ABORT',
  'VOTE_ABORT',
  'PARTICIPANT_FAILED',
  'ONE_PHASE_REFUSED',
  'LEASE_EXPIRED',
  'COORDINATOR_RECOVERY',
  'LOG_STORE_RESTARTED',
  'LOG_REFUSED_DATA',
] as const;
export type AbortKind = (typeof ABORT_KINDS)[number];

/** The kind of abort an event decides, if it decides one. */
export function abortKindOf(event: TxEvent): AbortKind {
  switch (event.type) {
    case 'abort:requested':
      return event.kind ?? 'CLIENT_ABORT';
    case 'vote:received':
      return 'VOTE_ABORT';
    case 'prepare:failed':
    case 'onephase:unsent':
      return 'PARTICIPANT_FAILED';
    case 'onephase:answered':
      return 'ONE_PHASE_REFUSED';
    case 'lease:expired':
      return 'LEASE_EXPIRED';
    case 'tx:recovered':
      return 'COORDINATOR_RECOVERY';
    case 'commit:requested':
    case 'ack:received':
    case 'abort:undeliverable':
      // These never decide an abort (a Commit starts Prepare or commits;
      // acknowledgements come after a decision): the label is never counted.
      return 'CLIENT_ABORT';
  }
}

export type TxEventType = TxEvent['type'];

/** Every event type, for exhaustive tests. */
export const TX_EVENT_TYPES: readonly TxEventType[] = [
  'commit:requested',
  'abort:requested',
  'vote:received',
  'prepare:failed',
  'onephase:answered',
  'onephase:unsent',
  'ack:received',
  'abort:undeliverable',
  'lease:expired',
  'tx:recovered',
];
