// Original file: proto/twopc/v1/coordinator.proto

import type { Transaction as _twopc_v1_Transaction, Transaction__Output as _twopc_v1_Transaction__Output } from './Transaction.ts';

export interface ListTransactionsResponse {
  'transactions'?: (_twopc_v1_Transaction)[];
  'nextPageToken'?: (string);
}

export interface ListTransactionsResponse__Output {
  'transactions': (_twopc_v1_Transaction__Output)[];
  'nextPageToken': (string);
}
