import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Timestamp as _google_protobuf_Timestamp, Timestamp__Output as _google_protobuf_Timestamp__Output } from './google/protobuf/Timestamp.ts';
import type { AbortRequest as _twopc_v1_AbortRequest, AbortRequest__Output as _twopc_v1_AbortRequest__Output } from './twopc/v1/AbortRequest.ts';
import type { AbortResponse as _twopc_v1_AbortResponse, AbortResponse__Output as _twopc_v1_AbortResponse__Output } from './twopc/v1/AbortResponse.ts';
import type { BatchedParticipantClient as _twopc_v1_BatchedParticipantClient, BatchedParticipantDefinition as _twopc_v1_BatchedParticipantDefinition } from './twopc/v1/BatchedParticipant.ts';
import type { BeginRequest as _twopc_v1_BeginRequest, BeginRequest__Output as _twopc_v1_BeginRequest__Output } from './twopc/v1/BeginRequest.ts';
import type { BeginResponse as _twopc_v1_BeginResponse, BeginResponse__Output as _twopc_v1_BeginResponse__Output } from './twopc/v1/BeginResponse.ts';
import type { CommitRequest as _twopc_v1_CommitRequest, CommitRequest__Output as _twopc_v1_CommitRequest__Output } from './twopc/v1/CommitRequest.ts';
import type { CommitResponse as _twopc_v1_CommitResponse, CommitResponse__Output as _twopc_v1_CommitResponse__Output } from './twopc/v1/CommitResponse.ts';
import type { CoordinatorClient as _twopc_v1_CoordinatorClient, CoordinatorDefinition as _twopc_v1_CoordinatorDefinition } from './twopc/v1/Coordinator.ts';
import type { EnlistRequest as _twopc_v1_EnlistRequest, EnlistRequest__Output as _twopc_v1_EnlistRequest__Output } from './twopc/v1/EnlistRequest.ts';
import type { EnlistResponse as _twopc_v1_EnlistResponse, EnlistResponse__Output as _twopc_v1_EnlistResponse__Output } from './twopc/v1/EnlistResponse.ts';
import type { ExchangeRequest as _twopc_v1_ExchangeRequest, ExchangeRequest__Output as _twopc_v1_ExchangeRequest__Output } from './twopc/v1/ExchangeRequest.ts';
import type { ExchangeResponse as _twopc_v1_ExchangeResponse, ExchangeResponse__Output as _twopc_v1_ExchangeResponse__Output } from './twopc/v1/ExchangeResponse.ts';
import type { GetTransactionRequest as _twopc_v1_GetTransactionRequest, GetTransactionRequest__Output as _twopc_v1_GetTransactionRequest__Output } from './twopc/v1/GetTransactionRequest.ts';
import type { HeartbeatRequest as _twopc_v1_HeartbeatRequest, HeartbeatRequest__Output as _twopc_v1_HeartbeatRequest__Output } from './twopc/v1/HeartbeatRequest.ts';
import type { HeartbeatResponse as _twopc_v1_HeartbeatResponse, HeartbeatResponse__Output as _twopc_v1_HeartbeatResponse__Output } from './twopc/v1/HeartbeatResponse.ts';
import type { ListTransactionsRequest as _twopc_v1_ListTransactionsRequest, ListTransactionsRequest__Output as _twopc_v1_ListTransactionsRequest__Output } from './twopc/v1/ListTransactionsRequest.ts';
import type { ListTransactionsResponse as _twopc_v1_ListTransactionsResponse, ListTransactionsResponse__Output as _twopc_v1_ListTransactionsResponse__Output } from './twopc/v1/ListTransactionsResponse.ts';
import type { OperatorClient as _twopc_v1_OperatorClient, OperatorDefinition as _twopc_v1_OperatorDefinition } from './twopc/v1/Operator.ts';
import type { OperatorAction as _twopc_v1_OperatorAction, OperatorAction__Output as _twopc_v1_OperatorAction__Output } from './twopc/v1/OperatorAction.ts';
import type { ParticipantClient as _twopc_v1_ParticipantClient, ParticipantDefinition as _twopc_v1_ParticipantDefinition } from './twopc/v1/Participant.ts';
import type { ParticipantAbortRequest as _twopc_v1_ParticipantAbortRequest, ParticipantAbortRequest__Output as _twopc_v1_ParticipantAbortRequest__Output } from './twopc/v1/ParticipantAbortRequest.ts';
import type { ParticipantAbortResponse as _twopc_v1_ParticipantAbortResponse, ParticipantAbortResponse__Output as _twopc_v1_ParticipantAbortResponse__Output } from './twopc/v1/ParticipantAbortResponse.ts';
import type { ParticipantCommitRequest as _twopc_v1_ParticipantCommitRequest, ParticipantCommitRequest__Output as _twopc_v1_ParticipantCommitRequest__Output } from './twopc/v1/ParticipantCommitRequest.ts';
import type { ParticipantCommitResponse as _twopc_v1_ParticipantCommitResponse, ParticipantCommitResponse__Output as _twopc_v1_ParticipantCommitResponse__Output } from './twopc/v1/ParticipantCommitResponse.ts';
import type { ParticipantRef as _twopc_v1_ParticipantRef, ParticipantRef__Output as _twopc_v1_ParticipantRef__Output } from './twopc/v1/ParticipantRef.ts';
import type { ParticipantStatus as _twopc_v1_ParticipantStatus, ParticipantStatus__Output as _twopc_v1_ParticipantStatus__Output } from './twopc/v1/ParticipantStatus.ts';
import type { PhaseAnswer as _twopc_v1_PhaseAnswer, PhaseAnswer__Output as _twopc_v1_PhaseAnswer__Output } from './twopc/v1/PhaseAnswer.ts';
import type { PhaseCall as _twopc_v1_PhaseCall, PhaseCall__Output as _twopc_v1_PhaseCall__Output } from './twopc/v1/PhaseCall.ts';
import type { PhaseError as _twopc_v1_PhaseError, PhaseError__Output as _twopc_v1_PhaseError__Output } from './twopc/v1/PhaseError.ts';
import type { PrepareRequest as _twopc_v1_PrepareRequest, PrepareRequest__Output as _twopc_v1_PrepareRequest__Output } from './twopc/v1/PrepareRequest.ts';
import type { PrepareResponse as _twopc_v1_PrepareResponse, PrepareResponse__Output as _twopc_v1_PrepareResponse__Output } from './twopc/v1/PrepareResponse.ts';
import type { ResolveParticipantRequest as _twopc_v1_ResolveParticipantRequest, ResolveParticipantRequest__Output as _twopc_v1_ResolveParticipantRequest__Output } from './twopc/v1/ResolveParticipantRequest.ts';
import type { RetryNowRequest as _twopc_v1_RetryNowRequest, RetryNowRequest__Output as _twopc_v1_RetryNowRequest__Output } from './twopc/v1/RetryNowRequest.ts';
import type { Transaction as _twopc_v1_Transaction, Transaction__Output as _twopc_v1_Transaction__Output } from './twopc/v1/Transaction.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  google: {
    protobuf: {
      Timestamp: MessageTypeDefinition<_google_protobuf_Timestamp, _google_protobuf_Timestamp__Output>
    }
  }
  twopc: {
    v1: {
      AbortRequest: MessageTypeDefinition<_twopc_v1_AbortRequest, _twopc_v1_AbortRequest__Output>
      AbortResponse: MessageTypeDefinition<_twopc_v1_AbortResponse, _twopc_v1_AbortResponse__Output>
      BatchedParticipant: SubtypeConstructor<typeof grpc.Client, _twopc_v1_BatchedParticipantClient> & { service: _twopc_v1_BatchedParticipantDefinition }
      BeginRequest: MessageTypeDefinition<_twopc_v1_BeginRequest, _twopc_v1_BeginRequest__Output>
      BeginResponse: MessageTypeDefinition<_twopc_v1_BeginResponse, _twopc_v1_BeginResponse__Output>
      CommitRequest: MessageTypeDefinition<_twopc_v1_CommitRequest, _twopc_v1_CommitRequest__Output>
      CommitResponse: MessageTypeDefinition<_twopc_v1_CommitResponse, _twopc_v1_CommitResponse__Output>
      Coordinator: SubtypeConstructor<typeof grpc.Client, _twopc_v1_CoordinatorClient> & { service: _twopc_v1_CoordinatorDefinition }
      EnlistRequest: MessageTypeDefinition<_twopc_v1_EnlistRequest, _twopc_v1_EnlistRequest__Output>
      EnlistResponse: MessageTypeDefinition<_twopc_v1_EnlistResponse, _twopc_v1_EnlistResponse__Output>
      ExchangeRequest: MessageTypeDefinition<_twopc_v1_ExchangeRequest, _twopc_v1_ExchangeRequest__Output>
      ExchangeResponse: MessageTypeDefinition<_twopc_v1_ExchangeResponse, _twopc_v1_ExchangeResponse__Output>
      GetTransactionRequest: MessageTypeDefinition<_twopc_v1_GetTransactionRequest, _twopc_v1_GetTransactionRequest__Output>
      HeartbeatRequest: MessageTypeDefinition<_twopc_v1_HeartbeatRequest, _twopc_v1_HeartbeatRequest__Output>
      HeartbeatResponse: MessageTypeDefinition<_twopc_v1_HeartbeatResponse, _twopc_v1_HeartbeatResponse__Output>
      ListTransactionsRequest: MessageTypeDefinition<_twopc_v1_ListTransactionsRequest, _twopc_v1_ListTransactionsRequest__Output>
      ListTransactionsResponse: MessageTypeDefinition<_twopc_v1_ListTransactionsResponse, _twopc_v1_ListTransactionsResponse__Output>
      Operator: SubtypeConstructor<typeof grpc.Client, _twopc_v1_OperatorClient> & { service: _twopc_v1_OperatorDefinition }
      OperatorAction: MessageTypeDefinition<_twopc_v1_OperatorAction, _twopc_v1_OperatorAction__Output>
      Outcome: EnumTypeDefinition
      Participant: SubtypeConstructor<typeof grpc.Client, _twopc_v1_ParticipantClient> & { service: _twopc_v1_ParticipantDefinition }
      ParticipantAbortRequest: MessageTypeDefinition<_twopc_v1_ParticipantAbortRequest, _twopc_v1_ParticipantAbortRequest__Output>
      ParticipantAbortResponse: MessageTypeDefinition<_twopc_v1_ParticipantAbortResponse, _twopc_v1_ParticipantAbortResponse__Output>
      ParticipantCommitRequest: MessageTypeDefinition<_twopc_v1_ParticipantCommitRequest, _twopc_v1_ParticipantCommitRequest__Output>
      ParticipantCommitResponse: MessageTypeDefinition<_twopc_v1_ParticipantCommitResponse, _twopc_v1_ParticipantCommitResponse__Output>
      ParticipantRef: MessageTypeDefinition<_twopc_v1_ParticipantRef, _twopc_v1_ParticipantRef__Output>
      ParticipantStatus: MessageTypeDefinition<_twopc_v1_ParticipantStatus, _twopc_v1_ParticipantStatus__Output>
      PhaseAnswer: MessageTypeDefinition<_twopc_v1_PhaseAnswer, _twopc_v1_PhaseAnswer__Output>
      PhaseCall: MessageTypeDefinition<_twopc_v1_PhaseCall, _twopc_v1_PhaseCall__Output>
      PhaseError: MessageTypeDefinition<_twopc_v1_PhaseError, _twopc_v1_PhaseError__Output>
      PrepareRequest: MessageTypeDefinition<_twopc_v1_PrepareRequest, _twopc_v1_PrepareRequest__Output>
      PrepareResponse: MessageTypeDefinition<_twopc_v1_PrepareResponse, _twopc_v1_PrepareResponse__Output>
      ResolveParticipantRequest: MessageTypeDefinition<_twopc_v1_ResolveParticipantRequest, _twopc_v1_ResolveParticipantRequest__Output>
      RetryNowRequest: MessageTypeDefinition<_twopc_v1_RetryNowRequest, _twopc_v1_RetryNowRequest__Output>
      Transaction: MessageTypeDefinition<_twopc_v1_Transaction, _twopc_v1_Transaction__Output>
      TransactionState: EnumTypeDefinition
      Vote: EnumTypeDefinition
    }
  }
}

