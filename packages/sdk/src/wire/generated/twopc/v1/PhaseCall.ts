// Original file: proto/twopc/v1/participant.proto

import type { PrepareRequest as _twopc_v1_PrepareRequest, PrepareRequest__Output as _twopc_v1_PrepareRequest__Output } from './PrepareRequest.ts';
import type { ParticipantCommitRequest as _twopc_v1_ParticipantCommitRequest, ParticipantCommitRequest__Output as _twopc_v1_ParticipantCommitRequest__Output } from './ParticipantCommitRequest.ts';
import type { ParticipantAbortRequest as _twopc_v1_ParticipantAbortRequest, ParticipantAbortRequest__Output as _twopc_v1_ParticipantAbortRequest__Output } from './ParticipantAbortRequest.ts';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';

export interface PhaseCall {
  'id'?: (number);
  'prepare'?: (_twopc_v1_PrepareRequest | null);
  'commit'?: (_twopc_v1_ParticipantCommitRequest | null);
  'abort'?: (_twopc_v1_ParticipantAbortRequest | null);
  'traceContext'?: ({[key: string]: string});
  'deadline'?: (_google_protobuf_Timestamp | null);
  'call'?: "prepare"|"commit"|"abort";
}

export interface PhaseCall__Output {
  'id': (number);
  'prepare'?: (_twopc_v1_PrepareRequest__Output | null);
  'commit'?: (_twopc_v1_ParticipantCommitRequest__Output | null);
  'abort'?: (_twopc_v1_ParticipantAbortRequest__Output | null);
  'traceContext': ({[key: string]: string});
  'deadline': (_google_protobuf_Timestamp__Output | null);
  'call'?: "prepare"|"commit"|"abort";
}
