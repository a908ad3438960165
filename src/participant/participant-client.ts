import type { Outcome, Vote } from 'twopc/internal/contract/tx-state';

/** A call to a participant, with the coordinator's deadline for it. */
export interface ParticipantCall {
  readonly endpoint: string;
  readonly txnId: string;
  readonly name: string;
  readonly timeoutMs: number;
  /** W3C trace context to forward in metadata, if any. */
  readonly traceHeaders?: Readonly<Record<string, string>>;
}

/** A participant's vote. */
export interface PrepareResult {
  readonly vote: Vote;
  readonly reason: string | null;
}

/** A phase-2 acknowledgement, with the outcome the participant reports (null: unknown). */
export interface AckResult {
  readonly outcome: Outcome | null;
  readonly reason: string | null;
}

/**
 * Outbound port to participants. Every method rejects with
 * ParticipantUnavailableError when the call fails or times out.
 */
export interface ParticipantClient {
  prepare(call: ParticipantCall): Promise<PrepareResult>;
  commit(call: ParticipantCall, onePhase: boolean): Promise<AckResult>;
  abort(call: ParticipantCall, reason: string): Promise<AckResult>;
  close(): void;
}
