// Original file: proto/twopc/v1/participant.proto


export interface ParticipantCommitRequest {
  'txnId'?: (string);
  'participantName'?: (string);
  'onePhase'?: (boolean);
}

export interface ParticipantCommitRequest__Output {
  'txnId': (string);
  'participantName': (string);
  'onePhase': (boolean);
}
