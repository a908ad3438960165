import type { TxId } from '../core/tx-record.ts';
import type { Outcome, TxState } from 'twopc/internal/contract/tx-state';

/** Lease rules for Begin and Heartbeat, and the stuck threshold. */
export interface LeaseConfig {
  readonly defaultMs: number;
  readonly maxMs: number;
  /** Phase 2 unfinished this long after the decision: stuck. */
  readonly stuckAfterMs: number;
}

/** What Commit and Abort answer. */
export interface OutcomeResult {
  readonly outcome: Outcome;
  readonly reason: string | null;
  readonly state: TxState;
}

export interface BeginInput {
  /** The id the client made (null: the coordinator makes one). */
  readonly txnId?: TxId | null;
  readonly timeoutMs: number;
  readonly labels: Record<string, string>;
  readonly participants: readonly { name: string; endpoint: string }[];
  /** The tenant the transaction belongs to. */
  readonly tenant: string;
  /** Who began it (null when nobody is authenticated). */
  readonly principal: string | null;
}
