// The SDK's public API for applications: clients, participants, the operator
// client, the conformance kit and the TLS helpers. The PostgreSQL participant
// is `twopc/pg` (src/pg.ts), so that an application without `pg` never
// meets its types. Nothing here loads the server (the twopc-server package).
export { TwopcClient, TXN_ID_METADATA, txnMetadata } from './twopc-client.ts';
export type {
  CommitAnswer,
  OutcomeAnswer,
  ParticipantAddress,
  TransactionView,
  TwopcClientOptions,
} from './twopc-client.ts';
export type { BeginAnswer, BeginOptions } from './begins-ahead.ts';
export { TwopcOperator } from './twopc-operator.ts';
export type { ConnectionOptions, CoordinatorAddress, TokenSource } from './connection.ts';
export { serverTlsCredentials, channelTlsCredentials } from './tls/credentials.ts';
export type { TlsFiles } from './tls/credentials.ts';
export { TwopcParticipant } from './twopc-participant.ts';
export type {
  ParticipantHandlers,
  TwopcParticipantOptions,
  VoteResult,
} from './twopc-participant.ts';
export type { Held } from './participant-drain.ts';
export { BranchState, InMemoryBranchStore } from './branch-store.ts';
export type { BranchStore } from './branch-store.ts';
export { Outcome, TxState, ViewState, Vote } from './contract/tx-state.ts';
export { ErrorCode } from './contract/errors.ts';
export { checkParticipant, formatReport } from './conformance.ts';
export type { CheckResult, ConformanceOptions } from './conformance.ts';
