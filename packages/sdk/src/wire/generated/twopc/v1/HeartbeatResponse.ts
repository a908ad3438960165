// Original file: proto/twopc/v1/coordinator.proto

import type { TransactionState as _twopc_v1_TransactionState, TransactionState__Output as _twopc_v1_TransactionState__Output } from './TransactionState.ts';
import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';

export interface HeartbeatResponse {
  'state'?: (_twopc_v1_TransactionState);
  'leaseExpiresAt'?: (_google_protobuf_Timestamp | null);
}

export interface HeartbeatResponse__Output {
  'state': (_twopc_v1_TransactionState__Output);
  'leaseExpiresAt': (_google_protobuf_Timestamp__Output | null);
}
