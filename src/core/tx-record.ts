import type { Outcome, TxState, Vote } from 'twopc/internal/contract/tx-state';

import type { TxId } from 'twopc/internal/contract/limits';

export type { TxId };

/** What the state machine knows of one participant. */
export interface ParticipantRecord {
  readonly name: string;
  readonly endpoint: string;
  readonly vote: Vote | null;
  readonly voteReason: string | null;
  /** Acknowledged the decision in phase 2. */
  readonly acked: boolean;
  /** An outcome the participant reported that contradicts the decision. */
  readonly heuristic: Outcome | null;
}

/** What the state machine knows of one transaction. */
export interface TxRecord {
  readonly txnId: TxId;
  readonly state: TxState;
  /** Why it aborted; null otherwise. */
  readonly reason: string | null;
  /** The single participant is committed in one phase. */
  readonly onePhase: boolean;
  readonly participants: readonly ParticipantRecord[];
}

/** A participant as enlisted, before it has voted. */
export function newParticipant(name: string, endpoint: string): ParticipantRecord {
  return { name, endpoint, vote: null, voteReason: null, acked: false, heuristic: null };
}
