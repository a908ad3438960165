// Original file: proto/twopc/v1/coordinator.proto


export interface HeartbeatRequest {
  'txnId'?: (string);
  'extendMs'?: (number);
}

export interface HeartbeatRequest__Output {
  'txnId': (string);
  'extendMs': (number);
}
