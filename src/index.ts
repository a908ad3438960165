// The package's public API for applications: the SDK for clients and
// participants. It loads nothing of the server; embedding a coordinator is
// `twopc/server` (src/server.ts).
export { TwopcClient, TXN_ID_METADATA, txnMetadata } from './sdk/twopc-client.ts';
export type {
  OutcomeAnswer,
  ParticipantAddress,
  TransactionView,
  TwopcClientOptions,
} from './sdk/twopc-client.ts';
export { TwopcOperator } from './sdk/twopc-operator.ts';
export type { ConnectionOptions, CoordinatorAddress, TokenSource } from './sdk/connection.ts';
export { serverTlsCredentials, channelTlsCredentials } from './tls/credentials.ts';
export type { TlsFiles } from './tls/credentials.ts';
export { TwopcParticipant } from './sdk/twopc-participant.ts';
export type {
  ParticipantHandlers,
  TwopcParticipantOptions,
  VoteResult,
} from './sdk/twopc-participant.ts';
export { BranchState, InMemoryBranchStore } from './sdk/branch-store.ts';
export {
  PgParticipant,
  HeuristicCommitError,
  HeuristicRollbackError,
} from './sdk/pg-participant.ts';
export type { PgParticipantOptions } from './sdk/pg-participant.ts';
export type { BranchStore } from './sdk/branch-store.ts';
export { Outcome, TxState, Vote } from './core/tx-state.ts';
export { ErrorCode } from './core/errors.ts';
export { checkParticipant, formatReport } from './sdk/conformance.ts';
export type { CheckResult, ConformanceOptions } from './sdk/conformance.ts';
