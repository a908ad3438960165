// Original file: proto/twopc/v1/participant.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ParticipantAbortRequest as _twopc_v1_ParticipantAbortRequest, ParticipantAbortRequest__Output as _twopc_v1_ParticipantAbortRequest__Output } from './ParticipantAbortRequest.ts';
import type { ParticipantAbortResponse as _twopc_v1_ParticipantAbortResponse, ParticipantAbortResponse__Output as _twopc_v1_ParticipantAbortResponse__Output } from './ParticipantAbortResponse.ts';
import type { ParticipantCommitRequest as _twopc_v1_ParticipantCommitRequest, ParticipantCommitRequest__Output as _twopc_v1_ParticipantCommitRequest__Output } from './ParticipantCommitRequest.ts';
import type { ParticipantCommitResponse as _twopc_v1_ParticipantCommitResponse, ParticipantCommitResponse__Output as _twopc_v1_ParticipantCommitResponse__Output } from './ParticipantCommitResponse.ts';
import type { PrepareRequest as _twopc_v1_PrepareRequest, PrepareRequest__Output as _twopc_v1_PrepareRequest__Output } from './PrepareRequest.ts';
import type { PrepareResponse as _twopc_v1_PrepareResponse, PrepareResponse__Output as _twopc_v1_PrepareResponse__Output } from './PrepareResponse.ts';

export interface ParticipantClient extends grpc.Client {
  Abort(argument: _twopc_v1_ParticipantAbortRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ParticipantAbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _twopc_v1_ParticipantAbortRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_ParticipantAbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _twopc_v1_ParticipantAbortRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ParticipantAbortResponse__Output>): grpc.ClientUnaryCall;
  Abort(argument: _twopc_v1_ParticipantAbortRequest, callback: grpc.requestCallback<_twopc_v1_ParticipantAbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _twopc_v1_ParticipantAbortRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ParticipantAbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _twopc_v1_ParticipantAbortRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_ParticipantAbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _twopc_v1_ParticipantAbortRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ParticipantAbortResponse__Output>): grpc.ClientUnaryCall;
  abort(argument: _twopc_v1_ParticipantAbortRequest, callback: grpc.requestCallback<_twopc_v1_ParticipantAbortResponse__Output>): grpc.ClientUnaryCall;
  
  Commit(argument: _twopc_v1_ParticipantCommitRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ParticipantCommitResponse__Output>): grpc.ClientUnaryCall;
  Commit(argument: _twopc_v1_ParticipantCommitRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_ParticipantCommitResponse__Output>): grpc.ClientUnaryCall;
  Commit(argument: _twopc_v1_ParticipantCommitRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ParticipantCommitResponse__Output>): grpc.ClientUnaryCall;
  Commit(argument: _twopc_v1_ParticipantCommitRequest, callback: grpc.requestCallback<_twopc_v1_ParticipantCommitResponse__Output>): grpc.ClientUnaryCall;
  commit(argument: _twopc_v1_ParticipantCommitRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ParticipantCommitResponse__Output>): grpc.ClientUnaryCall;
  commit(argument: _twopc_v1_ParticipantCommitRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_ParticipantCommitResponse__Output>): grpc.ClientUnaryCall;
  commit(argument: _twopc_v1_ParticipantCommitRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_ParticipantCommitResponse__Output>): grpc.ClientUnaryCall;
  commit(argument: _twopc_v1_ParticipantCommitRequest, callback: grpc.requestCallback<_twopc_v1_ParticipantCommitResponse__Output>): grpc.ClientUnaryCall;
  
  Prepare(argument: _twopc_v1_PrepareRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_PrepareResponse__Output>): grpc.ClientUnaryCall;
  Prepare(argument: _twopc_v1_PrepareRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_PrepareResponse__Output>): grpc.ClientUnaryCall;
  Prepare(argument: _twopc_v1_PrepareRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_PrepareResponse__Output>): grpc.ClientUnaryCall;
  Prepare(argument: _twopc_v1_PrepareRequest, callback: grpc.requestCallback<_twopc_v1_PrepareResponse__Output>): grpc.ClientUnaryCall;
  prepare(argument: _twopc_v1_PrepareRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_PrepareResponse__Output>): grpc.ClientUnaryCall;
  prepare(argument: _twopc_v1_PrepareRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_twopc_v1_PrepareResponse__Output>): grpc.ClientUnaryCall;
  prepare(argument: _twopc_v1_PrepareRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_twopc_v1_PrepareResponse__Output>): grpc.ClientUnaryCall;
  prepare(argument: _twopc_v1_PrepareRequest, callback: grpc.requestCallback<_twopc_v1_PrepareResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface ParticipantHandlers extends grpc.UntypedServiceImplementation {
  Abort: grpc.handleUnaryCall<_twopc_v1_ParticipantAbortRequest__Output, _twopc_v1_ParticipantAbortResponse>;
  
  Commit: grpc.handleUnaryCall<_twopc_v1_ParticipantCommitRequest__Output, _twopc_v1_ParticipantCommitResponse>;
  
  Prepare: grpc.handleUnaryCall<_twopc_v1_PrepareRequest__Output, _twopc_v1_PrepareResponse>;
  
}

export interface ParticipantDefinition extends grpc.ServiceDefinition {
  Abort: MethodDefinition<_twopc_v1_ParticipantAbortRequest, _twopc_v1_ParticipantAbortResponse, _twopc_v1_ParticipantAbortRequest__Output, _twopc_v1_ParticipantAbortResponse__Output>
  Commit: MethodDefinition<_twopc_v1_ParticipantCommitRequest, _twopc_v1_ParticipantCommitResponse, _twopc_v1_ParticipantCommitRequest__Output, _twopc_v1_ParticipantCommitResponse__Output>
  Prepare: MethodDefinition<_twopc_v1_PrepareRequest, _twopc_v1_PrepareResponse, _twopc_v1_PrepareRequest__Output, _twopc_v1_PrepareResponse__Output>
}
