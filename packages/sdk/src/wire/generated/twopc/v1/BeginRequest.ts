// Original file: proto/twopc/v1/coordinator.proto

import type { ParticipantRef as _twopc_v1_ParticipantRef, ParticipantRef__Output as _twopc_v1_ParticipantRef__Output } from './ParticipantRef.ts';

export interface BeginRequest {
  'timeoutMs'?: (number);
  'labels'?: ({[key: string]: string});
  'participants'?: (_twopc_v1_ParticipantRef)[];
  'txnId'?: (string);
}

export interface BeginRequest__Output {
  'timeoutMs': (number);
  'labels': ({[key: string]: string});
  'participants': (_twopc_v1_ParticipantRef__Output)[];
  'txnId': (string);
}
