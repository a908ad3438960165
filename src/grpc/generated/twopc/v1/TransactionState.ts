// Original file: proto/twopc/v1/coordinator.proto

export const TransactionState = {
  TRANSACTION_STATE_UNSPECIFIED: 'TRANSACTION_STATE_UNSPECIFIED',
  ACTIVE: 'ACTIVE',
  PREPARING: 'PREPARING',
  COMMITTING: 'COMMITTING',
  ABORTING: 'ABORTING',
  COMMITTED: 'COMMITTED',
  ABORTED: 'ABORTED',
} as const;

export type TransactionState =
  | 'TRANSACTION_STATE_UNSPECIFIED'
  | 0
  | 'ACTIVE'
  | 1
  | 'PREPARING'
  | 2
  | 'COMMITTING'
  | 3
  | 'ABORTING'
  | 4
  | 'COMMITTED'
  | 5
  | 'ABORTED'
  | 6

export type TransactionState__Output = typeof TransactionState[keyof typeof TransactionState]
