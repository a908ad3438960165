// Original file: proto/twopc/v1/participant.proto

import type { Outcome as _twopc_v1_Outcome, Outcome__Output as _twopc_v1_Outcome__Output } from './Outcome.ts';

export interface ParticipantAbortResponse {
  'outcome'?: (_twopc_v1_Outcome);
}

export interface ParticipantAbortResponse__Output {
  'outcome': (_twopc_v1_Outcome__Output);
}
