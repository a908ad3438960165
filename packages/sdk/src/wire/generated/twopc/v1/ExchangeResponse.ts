// Original file: proto/twopc/v1/participant.proto

import type { PhaseAnswer as _twopc_v1_PhaseAnswer, PhaseAnswer__Output as _twopc_v1_PhaseAnswer__Output } from './PhaseAnswer.ts';

export interface ExchangeResponse {
  'answers'?: (_twopc_v1_PhaseAnswer)[];
}

export interface ExchangeResponse__Output {
  'answers': (_twopc_v1_PhaseAnswer__Output)[];
}
