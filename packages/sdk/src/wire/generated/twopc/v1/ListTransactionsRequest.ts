// Original file: proto/twopc/v1/coordinator.proto

import type { TransactionState as _twopc_v1_TransactionState, TransactionState__Output as _twopc_v1_TransactionState__Output } from './TransactionState.ts';

export interface ListTransactionsRequest {
  'states'?: (_twopc_v1_TransactionState)[];
  'minAgeSeconds'?: (number);
  'pageSize'?: (number);
  'pageToken'?: (string);
  'stuckOnly'?: (boolean);
  'heuristicOnly'?: (boolean);
  'labels'?: ({[key: string]: string});
  'tenant'?: (string);
  'participant'?: (string);
}

export interface ListTransactionsRequest__Output {
  'states': (_twopc_v1_TransactionState__Output)[];
  'minAgeSeconds': (number);
  'pageSize': (number);
  'pageToken': (string);
  'stuckOnly': (boolean);
  'heuristicOnly': (boolean);
  'labels': ({[key: string]: string});
  'tenant': (string);
  'participant': (string);
}
