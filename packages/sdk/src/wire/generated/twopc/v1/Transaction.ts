// Original file: proto/twopc/v1/coordinator.proto

import type { TransactionState as _twopc_v1_TransactionState, TransactionState__Output as _twopc_v1_TransactionState__Output } from './TransactionState.ts';
import type { Outcome as _twopc_v1_Outcome, Outcome__Output as _twopc_v1_Outcome__Output } from './Outcome.ts';
import type { ParticipantStatus as _twopc_v1_ParticipantStatus, ParticipantStatus__Output as _twopc_v1_ParticipantStatus__Output } from './ParticipantStatus.ts';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';
import type { OperatorAction as _twopc_v1_OperatorAction, OperatorAction__Output as _twopc_v1_OperatorAction__Output } from './OperatorAction.ts';

export interface Transaction {
  'txnId'?: (string);
  'state'?: (_twopc_v1_TransactionState);
  'outcome'?: (_twopc_v1_Outcome);
  'reason'?: (string);
  'labels'?: ({[key: string]: string});
  'participants'?: (_twopc_v1_ParticipantStatus)[];
  'createdAt'?: (_google_protobuf_Timestamp | null);
  'leaseExpiresAt'?: (_google_protobuf_Timestamp | null);
  'decidedAt'?: (_google_protobuf_Timestamp | null);
  'finishedAt'?: (_google_protobuf_Timestamp | null);
  'onePhase'?: (boolean);
  'traceId'?: (string);
  'stuck'?: (boolean);
  'heuristic'?: (boolean);
  'operatorActions'?: (_twopc_v1_OperatorAction)[];
  'tenant'?: (string);
  'principal'?: (string);
}

export interface Transaction__Output {
  'txnId': (string);
  'state': (_twopc_v1_TransactionState__Output);
  'outcome': (_twopc_v1_Outcome__Output);
  'reason': (string);
  'labels': ({[key: string]: string});
  'participants': (_twopc_v1_ParticipantStatus__Output)[];
  'createdAt': (_google_protobuf_Timestamp__Output | null);
  'leaseExpiresAt': (_google_protobuf_Timestamp__Output | null);
  'decidedAt': (_google_protobuf_Timestamp__Output | null);
  'finishedAt': (_google_protobuf_Timestamp__Output | null);
  'onePhase': (boolean);
  'traceId': (string);
  'stuck': (boolean);
  'heuristic': (boolean);
  'operatorActions': (_twopc_v1_OperatorAction__Output)[];
  'tenant': (string);
  'principal': (string);
}
