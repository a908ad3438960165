// Original file: proto/twopc/v1/coordinator.proto

import type { ParticipantRef as _twopc_v1_ParticipantRef, ParticipantRef__Output as _twopc_v1_ParticipantRef__Output } from './ParticipantRef.ts';

export interface EnlistRequest {
  'txnId'?: (string);
  'participant'?: (_twopc_v1_ParticipantRef | null);
}

export interface EnlistRequest__Output {
  'txnId': (string);
  'participant': (_twopc_v1_ParticipantRef__Output | null);
}
