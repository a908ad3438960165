// Original file: proto/twopc/v1/coordinator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AbortRequest as _twopc_v1_AbortRequest, AbortRequest__Output as _twopc_v1_AbortRequest__Output } from './AbortRequest.ts';
import type { AbortResponse as _twopc_v1_AbortResponse, AbortResponse__Output as _twopc_v1_AbortResponse__Output } from './AbortResponse.ts';
import type { GetTransactionRequest as _twopc_v1_GetTransactionRequest, GetTransactionRequest__Output as _twopc_v1_GetTransactionRequest__Output } from './GetTransactionRequest.ts';
import type { ListTransactionsRequest as _twopc_v1_ListTransactionsRequest, ListTransactionsRequest__Output as _twopc_v1_ListTransactionsRequest__Output } from './ListTransactionsRequest.ts';
import type { ListTransactionsResponse as _twopc_v1_ListTransactionsResponse, ListTransactionsResponse__Output as _twopc_v1_ListTransactionsResponse__Output } from './ListTransactionsResponse.ts';
import type { ResolveParticipantRequest as _twopc_v1_ResolveParticipantRequest, ResolveParticipantRequest__Output as _twopc_v1_ResolveParticipantRequest__Output } from './ResolveParticipantRequest.ts';
import type { RetryNowRequest as _twopc_v1_RetryNowRequest, RetryNowRequest__Output as _twopc_v1_RetryNowRequest__Output } from './RetryNowRequest.ts';
import type { Transaction as _twopc_v1_Transaction, Transaction__Output as _twopc_v1_Transaction__Output } from './Transaction.ts';

export interface OperatorClient extends grpc.Client {
  Abort(argument: _twopc_v1_AbortRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _twopc_v1_AbortRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _twopc_v1_AbortRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _twopc_v1_AbortRequest, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _twopc_v1_AbortRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _twopc_v1_AbortRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _twopc_v1_AbortRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _twopc_v1_AbortRequest, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  
  GetTransaction(argument: _twopc_v1_GetTransactionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  GetTransaction(argument: _twopc_v1_GetTransactionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  GetTransaction(argument: _twopc_v1_GetTransactionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  GetTransaction(argument: _twopc_v1_GetTransactionRequest, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  getTransaction(argument: _twopc_v1_GetTransactionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  getTransaction(argument: _twopc_v1_GetTransactionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  getTransaction(argument: _twopc_v1_GetTransactionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  getTransaction(argument: _twopc_v1_GetTransactionRequest, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  
  ListTransactions(argument: _twopc_v1_ListTransactionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  ListTransactions(argument: _twopc_v1_ListTransactionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  ListTransactions(argument: _twopc_v1_ListTransactionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  ListTransactions(argument: _twopc_v1_ListTransactionsRequest, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  listTransactions(argument: _twopc_v1_ListTransactionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  listTransactions(argument: _twopc_v1_ListTransactionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  listTransactions(argument: _twopc_v1_ListTransactionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  listTransactions(argument: _twopc_v1_ListTransactionsRequest, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  
  ResolveParticipant(argument: _twopc_v1_ResolveParticipantRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  ResolveParticipant(argument: _twopc_v1_ResolveParticipantRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  ResolveParticipant(argument: _twopc_v1_ResolveParticipantRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  ResolveParticipant(argument: _twopc_v1_ResolveParticipantRequest, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  resolveParticipant(argument: _twopc_v1_ResolveParticipantRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  resolveParticipant(argument: _twopc_v1_ResolveParticipantRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  resolveParticipant(argument: _twopc_v1_ResolveParticipantRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  resolveParticipant(argument: _twopc_v1_ResolveParticipantRequest, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  
  RetryNow(argument: _twopc_v1_RetryNowRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  RetryNow(argument: _twopc_v1_RetryNowRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  RetryNow(argument: _twopc_v1_RetryNowRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  RetryNow(argument: _twopc_v1_RetryNowRequest, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  retryNow(argument: _twopc_v1_RetryNowRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  retryNow(argument: _twopc_v1_RetryNowRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  retryNow(argument: _twopc_v1_RetryNowRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  retryNow(argument: _twopc_v1_RetryNowRequest, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  
}

export interface OperatorHandlers extends grpc.UntypedServiceImplementation {
  Abort: grpc.handleUnaryCall<_twopc_v1_AbortRequest__Output, _twopc_v1_AbortResponse>;
  
  GetTransaction: grpc.handleUnaryCall<_twopc_v1_GetTransactionRequest__Output, _twopc_v1_Transaction>;
  
  ListTransactions: grpc.handleUnaryCall<_twopc_v1_ListTransactionsRequest__Output, _twopc_v1_ListTransactionsResponse>;
  
  ResolveParticipant: grpc.handleUnaryCall<_twopc_v1_ResolveParticipantRequest__Output, _twopc_v1_Transaction>;
  
  RetryNow: grpc.handleUnaryCall<_twopc_v1_RetryNowRequest__Output, _twopc_v1_Transaction>;
  
}

export interface OperatorDefinition extends grpc.ServiceDefinition {
  Abort: MethodDefinition<_twopc_v1_AbortRequest, _twopc_v1_AbortResponse, _twopc_v1_AbortRequest__Output, _twopc_v1_AbortResponse__Output>
  GetTransaction: MethodDefinition<_twopc_v1_GetTransactionRequest, _twopc_v1_Transaction, _twopc_v1_GetTransactionRequest__Output, _twopc_v1_Transaction__Output>
  ListTransactions: MethodDefinition<_twopc_v1_ListTransactionsRequest, _twopc_v1_ListTransactionsResponse, _twopc_v1_ListTransactionsRequest__Output, _twopc_v1_ListTransactionsResponse__Output>
  ResolveParticipant: MethodDefinition<_twopc_v1_ResolveParticipantRequest, _twopc_v1_Transaction, _twopc_v1_ResolveParticipantRequest__Output, _twopc_v1_Transaction__Output>
  RetryNow: MethodDefinition<_twopc_v1_RetryNowRequest, _twopc_v1_Transaction, _twopc_v1_RetryNowRequest__Output, _twopc_v1_Transaction__Output>
}
