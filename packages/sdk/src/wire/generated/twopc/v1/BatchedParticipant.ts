// Original file: proto/twopc/v1/participant.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ExchangeRequest as _twopc_v1_ExchangeRequest, ExchangeRequest__Output as _twopc_v1_ExchangeRequest__Output } from './ExchangeRequest.ts';
import type { ExchangeResponse as _twopc_v1_ExchangeResponse, ExchangeResponse__Output as _twopc_v1_ExchangeResponse__Output } from './ExchangeResponse.ts';

export interface BatchedParticipantClient extends grpc.Client {
  Exchange(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_twopc_v1_ExchangeRequest, _twopc_v1_ExchangeResponse__Output>;
  Exchange(options?: grpc.CallOptions): grpc.ClientDuplexStream<_twopc_v1_ExchangeRequest, _twopc_v1_ExchangeResponse__Output>;
  exchange(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_twopc_v1_ExchangeRequest, _twopc_v1_ExchangeResponse__Output>;
  exchange(options?: grpc.CallOptions): grpc.ClientDuplexStream<_twopc_v1_ExchangeRequest, _twopc_v1_ExchangeResponse__Output>;
  
}

export interface BatchedParticipantHandlers extends grpc.UntypedServiceImplementation {
  Exchange: grpc.handleBidiStreamingCall<_twopc_v1_ExchangeRequest__Output, _twopc_v1_ExchangeResponse>;
  
}

export interface BatchedParticipantDefinition extends grpc.ServiceDefinition {
  Exchange: MethodDefinition<_twopc_v1_ExchangeRequest, _twopc_v1_ExchangeResponse, _twopc_v1_ExchangeRequest__Output, _twopc_v1_ExchangeResponse__Output>
}
