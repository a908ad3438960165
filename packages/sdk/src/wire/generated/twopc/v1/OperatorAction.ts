// Original file: proto/twopc/v1/coordinator.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';

export interface OperatorAction {
  'at'?: (_google_protobuf_Timestamp | null);
  'action'?: (string);
  'participant'?: (string);
  'detail'?: (string);
  'principal'?: (string);
}

export interface OperatorAction__Output {
  'at': (_google_protobuf_Timestamp__Output | null);
  'action': (string);
  'participant': (string);
  'detail': (string);
  'principal': (string);
}
