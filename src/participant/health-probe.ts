import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';
import { deadlineIn } from 'twopc/internal/time/deadline-signal';
import { liveStub } from './participant-channel.ts';

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
    // The participant channel's options, made anew after a failed
    // connection: a restarted participant is seen at the next check, not
    // after a back-off (during which it would look DOWN).
    const s = liveStub(
      this.#stubs,
      endpoint,
      (options) => new this.#Ctor(endpoint, this.#credentials, options),
    );
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
