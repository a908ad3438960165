// Original file: proto/twopc/v1/coordinator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AbortRequest as _twopc_v1_AbortRequest, AbortRequest__Output as _twopc_v1_AbortRequest__Output } from './AbortRequest.ts';
import type { AbortResponse as _twopc_v1_AbortResponse, AbortResponse__Output as _twopc_v1_AbortResponse__Output } from './AbortResponse.ts';
import type { BeginRequest as _twopc_v1_BeginRequest, BeginRequest__Output as _twopc_v1_BeginRequest__Output } from './BeginRequest.ts';
import type { BeginResponse as _twopc_v1_BeginResponse, BeginResponse__Output as _twopc_v1_BeginResponse__Output } from './BeginResponse.ts';
import type { CommitRequest as _twopc_v1_CommitRequest, CommitRequest__Output as _twopc_v1_CommitRequest__Output } from './CommitRequest.ts';
import type { CommitResponse as _twopc_v1_CommitResponse, CommitResponse__Output as _twopc_v1_CommitResponse__Output } from './CommitResponse.ts';
import type { EnlistRequest as _twopc_v1_EnlistRequest, EnlistRequest__Output as _twopc_v1_EnlistRequest__Output } from './EnlistRequest.ts';
import type { EnlistResponse as _twopc_v1_EnlistResponse, EnlistResponse__Output as _twopc_v1_EnlistResponse__Output } from './EnlistResponse.ts';
import type { GetTransactionRequest as _twopc_v1_GetTransactionRequest, GetTransactionRequest__Output as _twopc_v1_GetTransactionRequest__Output } from './GetTransactionRequest.ts';
import type { HeartbeatRequest as _twopc_v1_HeartbeatRequest, HeartbeatRequest__Output as _twopc_v1_HeartbeatRequest__Output } from './HeartbeatRequest.ts';
import type { HeartbeatResponse as _twopc_v1_HeartbeatResponse, HeartbeatResponse__Output as _twopc_v1_HeartbeatResponse__Output } from './HeartbeatResponse.ts';
import type { ListTransactionsRequest as _twopc_v1_ListTransactionsRequest, ListTransactionsRequest__Output as _twopc_v1_ListTransactionsRequest__Output } from './ListTransactionsRequest.ts';
import type { ListTransactionsResponse as _twopc_v1_ListTransactionsResponse, ListTransactionsResponse__Output as _twopc_v1_ListTransactionsResponse__Output } from './ListTransactionsResponse.ts';
import type { Transaction as _twopc_v1_Transaction, Transaction__Output as _twopc_v1_Transaction__Output } from './Transaction.ts';

export interface CoordinatorClient extends grpc.Client {
  Abort(argument: _twopc_v1_AbortRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _twopc_v1_AbortRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _twopc_v1_AbortRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _twopc_v1_AbortRequest, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _twopc_v1_AbortRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _twopc_v1_AbortRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _twopc_v1_AbortRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _twopc_v1_AbortRequest, callback: grpc.requestCallback<_twopc_v1_AbortResponse__Output>): grpc.ClientUnaryCall;
  
  Begin(argument: _twopc_v1_BeginRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_BeginResponse__Output>): grpc.ClientUnaryCall;
  Begin(argument: _twopc_v1_BeginRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_BeginResponse__Output>): grpc.ClientUnaryCall;
  Begin(argument: _twopc_v1_BeginRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_BeginResponse__Output>): grpc.ClientUnaryCall;
  Begin(argument: _twopc_v1_BeginRequest, callback: grpc.requestCallback<_twopc_v1_BeginResponse__Output>): grpc.ClientUnaryCall;
  begin(argument: _twopc_v1_BeginRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_BeginResponse__Output>): grpc.ClientUnaryCall;
  begin(argument: _twopc_v1_BeginRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_BeginResponse__Output>): grpc.ClientUnaryCall;
  begin(argument: _twopc_v1_BeginRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_BeginResponse__Output>): grpc.ClientUnaryCall;
  begin(argument: _twopc_v1_BeginRequest, callback: grpc.requestCallback<_twopc_v1_BeginResponse__Output>): grpc.ClientUnaryCall;
  
  Commit(argument: _twopc_v1_CommitRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_CommitResponse__Output>): grpc.ClientUnaryCall;
  Commit(argument: _twopc_v1_CommitRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_CommitResponse__Output>): grpc.ClientUnaryCall;
  Commit(argument: _twopc_v1_CommitRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_CommitResponse__Output>): grpc.ClientUnaryCall;
  Commit(argument: _twopc_v1_CommitRequest, callback: grpc.requestCallback<_twopc_v1_CommitResponse__Output>): grpc.ClientUnaryCall;
  commit(argument: _twopc_v1_CommitRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_CommitResponse__Output>): grpc.ClientUnaryCall;
  commit(argument: _twopc_v1_CommitRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_CommitResponse__Output>): grpc.ClientUnaryCall;
  commit(argument: _twopc_v1_CommitRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_CommitResponse__Output>): grpc.ClientUnaryCall;
  commit(argument: _twopc_v1_CommitRequest, callback: grpc.requestCallback<_twopc_v1_CommitResponse__Output>): grpc.ClientUnaryCall;
  
  Enlist(argument: _twopc_v1_EnlistRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_EnlistResponse__Output>): grpc.ClientUnaryCall;
  Enlist(argument: _twopc_v1_EnlistRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_EnlistResponse__Output>): grpc.ClientUnaryCall;
  Enlist(argument: _twopc_v1_EnlistRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_EnlistResponse__Output>): grpc.ClientUnaryCall;
  Enlist(argument: _twopc_v1_EnlistRequest, callback: grpc.requestCallback<_twopc_v1_EnlistResponse__Output>): grpc.ClientUnaryCall;
  enlist(argument: _twopc_v1_EnlistRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_EnlistResponse__Output>): grpc.ClientUnaryCall;
  enlist(argument: _twopc_v1_EnlistRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_EnlistResponse__Output>): grpc.ClientUnaryCall;
  enlist(argument: _twopc_v1_EnlistRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_EnlistResponse__Output>): grpc.ClientUnaryCall;
  enlist(argument: _twopc_v1_EnlistRequest, callback: grpc.requestCallback<_twopc_v1_EnlistResponse__Output>): grpc.ClientUnaryCall;
  
  GetTransaction(argument: _twopc_v1_GetTransactionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  GetTransaction(argument: _twopc_v1_GetTransactionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  GetTransaction(argument: _twopc_v1_GetTransactionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  GetTransaction(argument: _twopc_v1_GetTransactionRequest, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  getTransaction(argument: _twopc_v1_GetTransactionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  getTransaction(argument: _twopc_v1_GetTransactionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  getTransaction(argument: _twopc_v1_GetTransactionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  getTransaction(argument: _twopc_v1_GetTransactionRequest, callback: grpc.requestCallback<_twopc_v1_Transaction__Output>): grpc.ClientUnaryCall;
  
  Heartbeat(argument: _twopc_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _twopc_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _twopc_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _twopc_v1_HeartbeatRequest, callback: grpc.requestCallback<_twopc_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _twopc_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _twopc_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _twopc_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _twopc_v1_HeartbeatRequest, callback: grpc.requestCallback<_twopc_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  
  ListTransactions(argument: _twopc_v1_ListTransactionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  ListTransactions(argument: _twopc_v1_ListTransactionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  ListTransactions(argument: _twopc_v1_ListTransactionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  ListTransactions(argument: _twopc_v1_ListTransactionsRequest, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  listTransactions(argument: _twopc_v1_ListTransactionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  listTransactions(argument: _twopc_v1_ListTransactionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  listTransactions(argument: _twopc_v1_ListTransactionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  listTransactions(argument: _twopc_v1_ListTransactionsRequest, callback: grpc.requestCallback<_twopc_v1_ListTransactionsResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface CoordinatorHandlers extends grpc.UntypedServiceImplementation {
  Abort: grpc.handleUnaryCall<_twopc_v1_AbortRequest__Output, _twopc_v1_AbortResponse>;
  
  Begin: grpc.handleUnaryCall<_twopc_v1_BeginRequest__Output, _twopc_v1_BeginResponse>;
  
  Commit: grpc.handleUnaryCall<_twopc_v1_CommitRequest__Output, _twopc_v1_CommitResponse>;
  
  Enlist: grpc.handleUnaryCall<_twopc_v1_EnlistRequest__Output, _twopc_v1_EnlistResponse>;
  
  GetTransaction: grpc.handleUnaryCall<_twopc_v1_GetTransactionRequest__Output, _twopc_v1_Transaction>;
  
  Heartbeat: grpc.handleUnaryCall<_twopc_v1_HeartbeatRequest__Output, _twopc_v1_HeartbeatResponse>;
  
  ListTransactions: grpc.handleUnaryCall<_twopc_v1_ListTransactionsRequest__Output, _twopc_v1_ListTransactionsResponse>;
  
}

export interface CoordinatorDefinition extends grpc.ServiceDefinition {
  Abort: MethodDefinition<_twopc_v1_AbortRequest, _twopc_v1_AbortResponse, _twopc_v1_AbortRequest__Output, _twopc_v1_AbortResponse__Output>
  Begin: MethodDefinition<_twopc_v1_BeginRequest, _twopc_v1_BeginResponse, _twopc_v1_BeginRequest__Output, _twopc_v1_BeginResponse__Output>
  Commit: MethodDefinition<_twopc_v1_CommitRequest, _twopc_v1_CommitResponse, _twopc_v1_CommitRequest__Output, _twopc_v1_CommitResponse__Output>
  Enlist: MethodDefinition<_twopc_v1_EnlistRequest, _twopc_v1_EnlistResponse, _twopc_v1_EnlistRequest__Output, _twopc_v1_EnlistResponse__Output>
  GetTransaction: MethodDefinition<_twopc_v1_GetTransactionRequest, _twopc_v1_Transaction, _twopc_v1_GetTransactionRequest__Output, _twopc_v1_Transaction__Output>
  Heartbeat: MethodDefinition<_twopc_v1_HeartbeatRequest, _twopc_v1_HeartbeatResponse, _twopc_v1_HeartbeatRequest__Output, _twopc_v1_HeartbeatResponse__Output>
  ListTransactions: MethodDefinition<_twopc_v1_ListTransactionsRequest, _twopc_v1_ListTransactionsResponse, _twopc_v1_ListTransactionsRequest__Output, _twopc_v1_ListTransactionsResponse__Output>
}
