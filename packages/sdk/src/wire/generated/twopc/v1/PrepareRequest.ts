// Original file: proto/twopc/v1/participant.proto

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from '../../google/protobuf/Timestamp.ts';

export interface PrepareRequest {
  'txnId'?: (string);
  'participantName'?: (string);
  'deadline'?: (_google_protobuf_Timestamp | null);
}

export interface PrepareRequest__Output {
  'txnId': (string);
  'participantName': (string);
  'deadline': (_google_protobuf_Timestamp__Output | null);
}
