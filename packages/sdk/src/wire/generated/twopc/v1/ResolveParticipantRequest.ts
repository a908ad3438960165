// Original file: proto/twopc/v1/coordinator.proto

import type { Outcome as _twopc_v1_Outcome, Outcome__Output as _twopc_v1_Outcome__Output } from './Outcome.ts';

export interface ResolveParticipantRequest {
  'txnId'?: (string);
  'participant'?: (string);
  'outcome'?: (_twopc_v1_Outcome);
  'note'?: (string);
}

export interface ResolveParticipantRequest__Output {
  'txnId': (string);
  'participant': (string);
  'outcome': (_twopc_v1_Outcome__Output);
  'note': (string);
}
