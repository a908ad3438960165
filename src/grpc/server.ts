import * as grpc from '@grpc/grpc-js';
import { showDuplicateCredentials } from './duplicate-headers.ts';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Security } from '../auth/security.ts';
import { ListenError } from '../listen-error.ts';
import type { Coordinator } from '../coordinator/coordinator.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Clock } from 'twopc/internal/time/clock';
import { coordinatorHandlers } from './coordinator-service.ts';
import { operatorHandlers } from './operator-service.ts';
import { loadTwopcProto, twopcDefinition } from 'twopc/internal/wire/proto';

/** The coordinator's gRPC server. */
export interface CoordinatorServer {
  /** The bound address (the port is real even when 0 was asked for). */
  readonly address: string;
  readonly health: HealthImplementation;
  /** Reports whether the coordinator can serve (NOT_SERVING while its store is unreachable). */
  setServing(serving: boolean): void;
  /** Stops accepting calls, waits for running ones up to `graceMs`, then cuts them off. */
  shutdown(graceMs: number): Promise<void>;
}

/** How the listener is exposed and what one connection may ask of it. */
export interface ListenerOptions {
  /** host:port; port 0 picks a free one. */
  readonly listen: string;
  /** TLS (mutual when it requires client certificates) or plaintext. */
  readonly credentials: grpc.ServerCredentials;
  readonly maxMessageBytes: number;
  readonly maxConcurrentStreams: number;
  /** Interceptors every call passes through (the per-method metrics). */
  readonly interceptors?: readonly grpc.ServerInterceptor[];
}

/** Fully-qualified service names, as health checks name them. */
export const COORDINATOR_SERVICE = 'twopc.v1.Coordinator';
export const OPERATOR_SERVICE = 'twopc.v1.Operator';

/**
 * Per-connection limits: message size and concurrent streams; the server
 * pings idle connections and drops those that do not answer, and closes
 * connections idle for 5 minutes. (Metadata size is checked by the security
 * room; Node's HTTP/2 layer caps a header block at 64 KiB and cuts
 * ping and settings floods on its own.)
 */
function channelOptions(options: ListenerOptions): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': 4 * options.maxMessageBytes,
    'grpc.max_concurrent_streams': options.maxConcurrentStreams,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    // A connection left idle this long is closed: idle sockets cost memory.
    'grpc.max_connection_idle_ms': 300_000,
  };
}

/**
 * Builds and binds the server: twopc.v1.Coordinator, twopc.v1.Operator,
 * grpc.health.v1.Health and reflection.
 */
export async function startCoordinatorServer(
  options: ListenerOptions,
  coordinator: Coordinator,
  security: Security,
  clock: Clock,
  log: Logger,
): Promise<CoordinatorServer> {
  const server = new grpc.Server({
    ...channelOptions(options),
    interceptors: [...(options.interceptors ?? [])],
  });
  const proto = loadTwopcProto().twopc.v1;
  server.addService(
    proto.Coordinator.service,
    coordinatorHandlers(coordinator, security, clock, log),
  );
  server.addService(proto.Operator.service, operatorHandlers(coordinator, security, clock, log));
  const health = new HealthImplementation({
    '': 'SERVING',
    [COORDINATOR_SERVICE]: 'SERVING',
    [OPERATOR_SERVICE]: 'SERVING',
  });
  health.addToServer(server);
  // Reflection: grpcurl and friends work without the proto files.
  // Only what this server serves: Participant and BatchedParticipant are in
  // the same package but are served by participants, not here.
  new ReflectionService(twopcDefinition(), {
    services: [COORDINATOR_SERVICE, OPERATOR_SERVICE, 'grpc.health.v1.Health'],
  }).addToServer(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(options.listen, options.credentials, (err, bound) =>
      err ? reject(new ListenError(options.listen, '--listen', err)) : resolve(bound),
    );
  });
  showDuplicateCredentials(server);
  const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
  const setAll = (status: 'SERVING' | 'NOT_SERVING'): void => {
    for (const name of ['', COORDINATOR_SERVICE, OPERATOR_SERVICE]) {
      health.setStatus(name, status);
    }
  };
  return {
    address: `${host}:${port}`,
    health,
    setServing: (serving) => setAll(serving ? 'SERVING' : 'NOT_SERVING'),
    shutdown: (graceMs) =>
      new Promise<void>((resolve) => {
        setAll('NOT_SERVING');
        const force = clock.setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          force();
          resolve();
        });
      }),
  };
}
