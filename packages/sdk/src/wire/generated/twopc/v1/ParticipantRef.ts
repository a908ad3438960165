// Original file: proto/twopc/v1/coordinator.proto


export interface ParticipantRef {
  'name'?: (string);
  'endpoint'?: (string);
}

export interface ParticipantRef__Output {
  'name': (string);
  'endpoint': (string);
}
