// Original file: proto/twopc/v1/coordinator.proto

export const Outcome = {
  OUTCOME_UNSPECIFIED: 'OUTCOME_UNSPECIFIED',
  OUTCOME_PENDING: 'OUTCOME_PENDING',
  OUTCOME_COMMITTED: 'OUTCOME_COMMITTED',
  OUTCOME_ABORTED: 'OUTCOME_ABORTED',
} as const;

export type Outcome =
  | 'OUTCOME_UNSPECIFIED'
  | 0
  | 'OUTCOME_PENDING'
  | 1
  | 'OUTCOME_COMMITTED'
  | 2
  | 'OUTCOME_ABORTED'
  | 3

export type Outcome__Output = typeof Outcome[keyof typeof Outcome]
