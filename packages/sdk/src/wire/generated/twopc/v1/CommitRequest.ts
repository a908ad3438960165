// Original file: proto/twopc/v1/coordinator.proto


export interface CommitRequest {
  'txnId'?: (string);
  'waitForAcks'?: (boolean);
}

export interface CommitRequest__Output {
  'txnId': (string);
  'waitForAcks': (boolean);
}
