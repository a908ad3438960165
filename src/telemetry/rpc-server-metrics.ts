import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import type { Meter } from '@opentelemetry/api';
import {
  ATTR_RPC_METHOD,
  ATTR_RPC_STATUS_CODE,
  ATTR_RPC_SYSTEM_NAME,
  METRIC_RPC_SERVER_CALL_DURATION,
  RPC_SYSTEM_NAME_VALUE_GRPC,
} from '@opentelemetry/semantic-conventions';

/** Upper bounds of the duration buckets (seconds): 0.5 ms to 10 s. */
const BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A status number's name (OK, DEADLINE_EXCEEDED, …), as the RPC conventions spell it. */
const STATUS_NAMES = new Map(
  Object.entries(grpc.status)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .map(([name, code]) => [code, name]),
);

/**
 * Per-method server metrics as OpenTelemetry's RPC semantic conventions
 * define them: the `rpc.server.call.duration` histogram (seconds) by
 * `rpc.method` (`twopc.v1.Coordinator/Begin`) and `rpc.status_code` (`OK`,
 * `NOT_FOUND`, …), for every call the server serves, unary or streaming.
 * It is a grpc-js server interceptor (grpc-js has no metrics of its own):
 * the call's start and its final status are what grpc-js reports.
 */
export function rpcServerMetrics(meter: Meter): grpc.ServerInterceptor {
  const duration = meter.createHistogram(METRIC_RPC_SERVER_CALL_DURATION, {
    description: 'Duration of calls served, by method and status',
    unit: 's',
    advice: { explicitBucketBoundaries: BUCKETS_S },
  });
  return (method, call) => {
    const started = performance.now();
    const rpcMethod = method.path.replace(/^\//, '');
    return new grpc.ServerInterceptingCall(
      call,
      new grpc.ResponderBuilder()
        .withSendStatus((status, next) => {
          duration.record((performance.now() - started) / 1000, {
            [ATTR_RPC_SYSTEM_NAME]: RPC_SYSTEM_NAME_VALUE_GRPC,
            [ATTR_RPC_METHOD]: rpcMethod,
            [ATTR_RPC_STATUS_CODE]: STATUS_NAMES.get(status.code) ?? 'UNKNOWN',
          });
          next(status);
        })
        .build(),
    );
  };
}
