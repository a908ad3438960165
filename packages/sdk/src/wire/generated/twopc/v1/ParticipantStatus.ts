// Original file: proto/twopc/v1/coordinator.proto

import type { Vote as _twopc_v1_Vote, Vote__Output as _twopc_v1_Vote__Output } from './Vote.ts';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';
import type { Outcome as _twopc_v1_Outcome, Outcome__Output as _twopc_v1_Outcome__Output } from './Outcome.ts';

export interface ParticipantStatus {
  'name'?: (string);
  'endpoint'?: (string);
  'vote'?: (_twopc_v1_Vote);
  'voteReason'?: (string);
  'acknowledged'?: (boolean);
  'acknowledgedAt'?: (_google_protobuf_Timestamp | null);
  'attempts'?: (number);
  'lastError'?: (string);
  'nextAttemptAt'?: (_google_protobuf_Timestamp | null);
  'heuristicOutcome'?: (_twopc_v1_Outcome);
  'enlistedAt'?: (_google_protobuf_Timestamp | null);
  'votedAt'?: (_google_protobuf_Timestamp | null);
}

export interface ParticipantStatus__Output {
  'name': (string);
  'endpoint': (string);
  'vote': (_twopc_v1_Vote__Output);
  'voteReason': (string);
  'acknowledged': (boolean);
  'acknowledgedAt': (_google_protobuf_Timestamp__Output | null);
  'attempts': (number);
  'lastError': (string);
  'nextAttemptAt': (_google_protobuf_Timestamp__Output | null);
  'heuristicOutcome': (_twopc_v1_Outcome__Output);
  'enlistedAt': (_google_protobuf_Timestamp__Output | null);
  'votedAt': (_google_protobuf_Timestamp__Output | null);
}
