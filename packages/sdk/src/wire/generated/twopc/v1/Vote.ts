// Original file: proto/twopc/v1/coordinator.proto

export const Vote = {
  VOTE_UNSPECIFIED: 'VOTE_UNSPECIFIED',
  VOTE_PREPARED: 'VOTE_PREPARED',
  VOTE_READ_ONLY: 'VOTE_READ_ONLY',
  VOTE_ABORT: 'VOTE_ABORT',
} as const;

export type Vote =
  | 'VOTE_UNSPECIFIED'
  | 0
  | 'VOTE_PREPARED'
  | 1
  | 'VOTE_READ_ONLY'
  | 2
  | 'VOTE_ABORT'
  | 3

export type Vote__Output = typeof Vote[keyof typeof Vote]
