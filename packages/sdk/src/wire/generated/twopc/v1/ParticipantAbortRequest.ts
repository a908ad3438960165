// Original file: proto/twopc/v1/participant.proto


export interface ParticipantAbortRequest {
  'txnId'?: (string);
  'participantName'?: (string);
  'reason'?: (string);
}

export interface ParticipantAbortRequest__Output {
  'txnId': (string);
  'participantName': (string);
  'reason': (string);
}
