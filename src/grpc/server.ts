import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Coordinator } from '../coordinator/coordinator.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Clock } from '../time/clock.ts';
import { coordinatorHandlers } from './coordinator-service.ts';
import { loadTwopcProto, twopcDefinition } from './proto.ts';

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

/** Fully-qualified service name, as health checks name it. */
export const COORDINATOR_SERVICE = 'twopc.v1.Coordinator';

/**
 * Builds and binds the server: twopc.v1.Coordinator and grpc.health.v1.Health.
 * @param listen host:port; port 0 picks a free one
 */
export async function startCoordinatorServer(
  listen: string,
  coordinator: Coordinator,
  clock: Clock,
  log: Logger,
): Promise<CoordinatorServer> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  server.addService(
    loadTwopcProto().twopc.v1.Coordinator.service,
    coordinatorHandlers(coordinator, clock, log),
  );
  const health = new HealthImplementation({ '': 'SERVING', [COORDINATOR_SERVICE]: 'SERVING' });
  health.addToServer(server);
  // Reflection: grpcurl and friends work without the proto files.
  new ReflectionService(twopcDefinition()).addToServer(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
  const host = listen.slice(0, listen.lastIndexOf(':'));
  return {
    address: `${host}:${port}`,
    health,
    setServing: (serving) => {
      const status = serving ? 'SERVING' : 'NOT_SERVING';
      health.setStatus('', status);
      health.setStatus(COORDINATOR_SERVICE, status);
    },
    shutdown: (graceMs) =>
      new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(COORDINATOR_SERVICE, 'NOT_SERVING');
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
