// Original file: proto/twopc/v1/participant.proto

import type { PrepareResponse as _twopc_v1_PrepareResponse, PrepareResponse__Output as _twopc_v1_PrepareResponse__Output } from './PrepareResponse.ts';
import type { ParticipantCommitResponse as _twopc_v1_ParticipantCommitResponse, ParticipantCommitResponse__Output as _twopc_v1_ParticipantCommitResponse__Output } from './ParticipantCommitResponse.ts';
import type { ParticipantAbortResponse as _twopc_v1_ParticipantAbortResponse, ParticipantAbortResponse__Output as _twopc_v1_ParticipantAbortResponse__Output } from './ParticipantAbortResponse.ts';
import type { PhaseError as _twopc_v1_PhaseError, PhaseError__Output as _twopc_v1_PhaseError__Output } from './PhaseError.ts';

export interface PhaseAnswer {
  'id'?: (number);
  'prepare'?: (_twopc_v1_PrepareResponse | null);
  'commit'?: (_twopc_v1_ParticipantCommitResponse | null);
  'abort'?: (_twopc_v1_ParticipantAbortResponse | null);
  'error'?: (_twopc_v1_PhaseError | null);
  'answer'?: "prepare"|"commit"|"abort"|"error";
}

export interface PhaseAnswer__Output {
  'id': (number);
  'prepare'?: (_twopc_v1_PrepareResponse__Output | null);
  'commit'?: (_twopc_v1_ParticipantCommitResponse__Output | null);
  'abort'?: (_twopc_v1_ParticipantAbortResponse__Output | null);
  'error'?: (_twopc_v1_PhaseError__Output | null);
  'answer'?: "prepare"|"commit"|"abort"|"error";
}
