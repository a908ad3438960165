// Original file: proto/twopc/v1/participant.proto

import type { Vote as _twopc_v1_Vote, Vote__Output as _twopc_v1_Vote__Output } from './Vote.ts';

export interface PrepareResponse {
  'vote'?: (_twopc_v1_Vote);
  'reason'?: (string);
}

export interface PrepareResponse__Output {
  'vote': (_twopc_v1_Vote__Output);
  'reason': (string);
}
