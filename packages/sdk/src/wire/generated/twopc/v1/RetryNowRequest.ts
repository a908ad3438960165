// Original file: proto/twopc/v1/coordinator.proto


export interface RetryNowRequest {
  'txnId'?: (string);
}

export interface RetryNowRequest__Output {
  'txnId': (string);
}
