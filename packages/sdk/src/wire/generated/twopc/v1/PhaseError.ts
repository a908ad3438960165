// Original file: proto/twopc/v1/participant.proto


export interface PhaseError {
  'code'?: (number);
  'message'?: (string);
}

export interface PhaseError__Output {
  'code': (number);
  'message': (string);
}
