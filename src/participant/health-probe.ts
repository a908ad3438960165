import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';
import { deadlineIn } from 'twopc/internal/time/deadline-signal';
import { PARTICIPANT_CHANNEL } from './grpc-participant-client.ts';

/** Asks a participant whether it is alive. */
export interface HealthProbe {
  /** Resolves true for SERVING; false for anything else, an error or no answer in time. */
  check(endpoint: string, timeoutMs: number): Promise<boolean>;
  close(): void;
}

interface HealthStub extends grpc.Client {
  check(
    req: { service: string },
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: { status: string }) => void,
  ): void;
}

/** grpc.health.v1.Health/Check over one cached channel per endpoint. */
export class GrpcHealthProbe implements HealthProbe {
  readonly #stubs = new Map<string, HealthStub>();
  readonly #Ctor: new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options: grpc.ChannelOptions,
  ) => HealthStub;

  readonly #credentials: grpc.ChannelCredentials;

  /** @param credentials as the participant calls use (TLS when participants serve it) */
  constructor(credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {
    this.#credentials = credentials;
    const pkg = grpc.loadPackageDefinition(
      protoLoader.loadSync(protoPath, { enums: String, defaults: true }),
    ) as unknown as {
      grpc: {
        health: {
          v1: {
            Health: new (
              address: string,
              credentials: grpc.ChannelCredentials,
              options: grpc.ChannelOptions,
            ) => HealthStub;
          };
        };
      };
    };
    this.#Ctor = pkg.grpc.health.v1.Health;
  }

  check(endpoint: string, timeoutMs: number): Promise<boolean> {
    let stub = this.#stubs.get(endpoint);
    if (stub === undefined) {
      // The participant channel's options: a restarted participant is
      // reconnected within its 2 s back-off cap, not grpc-js's default of
      // up to two minutes (during which it would look DOWN).
      stub = new this.#Ctor(endpoint, this.#credentials, PARTICIPANT_CHANNEL);
      this.#stubs.set(endpoint, stub);
    }
    const s = stub;
    return new Promise((resolve) => {
      s.check({ service: '' }, { deadline: deadlineIn(timeoutMs) }, (err, res) =>
        resolve(err === null && res?.status === 'SERVING'),
      );
    });
  }

  close(): void {
    this.#stubs.forEach((s) => s.close());
    this.#stubs.clear();
  }
}
