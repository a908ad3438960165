// Original file: proto/twopc/v1/coordinator.proto

import type { Outcome as _twopc_v1_Outcome, Outcome__Output as _twopc_v1_Outcome__Output } from './Outcome.ts';
import type { TransactionState as _twopc_v1_TransactionState, TransactionState__Output as _twopc_v1_TransactionState__Output } from './TransactionState.ts';

export interface CommitResponse {
  'outcome'?: (_twopc_v1_Outcome);
  'reason'?: (string);
  'state'?: (_twopc_v1_TransactionState);
}

export interface CommitResponse__Output {
  'outcome': (_twopc_v1_Outcome__Output);
  'reason': (string);
  'state': (_twopc_v1_TransactionState__Output);
}
