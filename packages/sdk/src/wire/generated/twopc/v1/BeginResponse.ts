// Original file: proto/twopc/v1/coordinator.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';

export interface BeginResponse {
  'txnId'?: (string);
  'leaseExpiresAt'?: (_google_protobuf_Timestamp | null);
}

export interface BeginResponse__Output {
  'txnId': (string);
  'leaseExpiresAt': (_google_protobuf_Timestamp__Output | null);
}
