// Original file: proto/twopc/v1/participant.proto

import type { PhaseCall as _twopc_v1_PhaseCall, PhaseCall__Output as _twopc_v1_PhaseCall__Output } from './PhaseCall.ts';

export interface ExchangeRequest {
  'calls'?: (_twopc_v1_PhaseCall)[];
}

export interface ExchangeRequest__Output {
  'calls': (_twopc_v1_PhaseCall__Output)[];
}
