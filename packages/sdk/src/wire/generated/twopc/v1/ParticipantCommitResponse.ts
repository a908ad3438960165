// Original file: proto/twopc/v1/participant.proto

import type { Outcome as _twopc_v1_Outcome, Outcome__Output as _twopc_v1_Outcome__Output } from './Outcome.ts';

export interface ParticipantCommitResponse {
  'outcome'?: (_twopc_v1_Outcome);
  'reason'?: (string);
}

export interface ParticipantCommitResponse__Output {
  'outcome': (_twopc_v1_Outcome__Output);
  'reason': (string);
}
