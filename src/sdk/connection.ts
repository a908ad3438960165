import * as grpc from '@grpc/grpc-js';
import { backoffMs } from '../coordinator/backoff.ts';
import { channelTlsCredentials } from '../tls/credentials.ts';
import type { TlsFiles } from '../tls/credentials.ts';
import { sleep } from '../time/clock.ts';
import { deadlineIn } from '../time/deadline-signal.ts';
import { SystemClock } from '../time/system-clock.ts';

// The caller awaits every back-off: its timer must keep the process alive.
const CLOCK = new SystemClock({ holdProcess: true });

/** A bearer token, or a function giving the current one (called per call: refresh there). */
export type TokenSource = string | (() => string | Promise<string>);

/** How a client reaches the coordinator. */
export interface ConnectionOptions {
  /** Deadline of each call (ms). */
  readonly callTimeoutMs?: number;
  /** Attempts for a call that fails with UNAVAILABLE (1 = no retry). */
  readonly attempts?: number;
  /** Ready-made channel credentials (wins over `tls`). */
  readonly credentials?: grpc.ChannelCredentials;
  /**
   * TLS to the coordinator: its CA (system roots when unset) and, for
   * mutual TLS, this client's certificate and key. Files are re-read, so a
   * renewed certificate is used by new connections.
   */
  readonly tls?: TlsFiles;
  /** A bearer token (JWT) sent with every call; needs TLS. */
  readonly token?: TokenSource;
}

/** Channel credentials with the token attached. @throws Error for a token without TLS */
export function connectionCredentials(options: ConnectionOptions): {
  credentials: grpc.ChannelCredentials;
  close(): void;
} {
  const channel =
    options.credentials !== undefined
      ? { credentials: options.credentials, close: () => undefined }
      : options.tls !== undefined
        ? channelTlsCredentials(options.tls)
        : { credentials: grpc.credentials.createInsecure(), close: () => undefined };
  const source = options.token;
  if (source === undefined) {
    return channel;
  }
  if (!channel.credentials._isSecure()) {
    throw new Error('a bearer token is sent only over TLS: set the tls or credentials option');
  }
  const perCall = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    Promise.resolve(typeof source === 'string' ? source : source()).then(
      (token) => {
        const md = new grpc.Metadata();
        md.set('authorization', `Bearer ${token}`);
        callback(null, md);
      },
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    );
  });
  return {
    credentials: grpc.credentials.combineChannelCredentials(channel.credentials, perCall),
    close: channel.close,
  };
}

/** The trailer a server sets to say how long to wait before a retry (gRPC retry pushback). */
const RETRY_PUSHBACK = 'grpc-retry-pushback-ms';

/**
 * How long to wait before retrying a failed call, or null to give up:
 * UNAVAILABLE backs off; RESOURCE_EXHAUSTED is retried only when the server
 * says when (the coordinator's log is overloaded and sheds new work).
 */
function retryDelayMs(err: grpc.ServiceError | null, attempt: number): number | null {
  const backoff = backoffMs({ baseMs: 100, capMs: 2_000 }, attempt, Math.random);
  if (err?.code === grpc.status.UNAVAILABLE) {
    return backoff;
  }
  const hint = Number(err?.metadata?.get(RETRY_PUSHBACK)[0] ?? NaN);
  if (err?.code === grpc.status.RESOURCE_EXHAUSTED && Number.isFinite(hint) && hint >= 0) {
    return Math.max(hint, backoff);
  }
  return null;
}

/** One unary call as the generated stubs take it. */
export type Invoke<Res> = (
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => unknown;

/**
 * Calls with retries: UNAVAILABLE with backoff, RESOURCE_EXHAUSTED after
 * the server's hint; every twopc call is safe to repeat. Once the attempts
 * are spent the call rejects with the last gRPC error.
 */
export async function callWithRetry<Res>(
  invoke: Invoke<Res>,
  timeoutMs: number,
  attempts: number,
): Promise<Res> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise<Res>((resolve, reject) => {
        invoke(new grpc.Metadata(), { deadline: deadlineIn(timeoutMs) }, (err, res) =>
          err || res === undefined ? reject(err) : resolve(res),
        );
      });
    } catch (err) {
      const wait = retryDelayMs(err as grpc.ServiceError | null, attempt);
      if (wait === null || attempt >= attempts) {
        throw err;
      }
      await sleep(CLOCK, wait);
    }
  }
}

/** A stub over one channel with this package's retries and credentials. */
export interface Connection<S> {
  readonly stub: S;
  /** Calls with retries, with the connection's deadline unless `timeoutMs`. */
  call<Res>(invoke: Invoke<Res>, timeoutMs?: number): Promise<Res>;
  close(): void;
}

/**
 * Opens a stub of a generated service to `address`.
 * @throws Error when the TLS files cannot be used, or a token is given without TLS
 */
export function openConnection<S extends { close(): void }>(
  Ctor: new (address: string, credentials: grpc.ChannelCredentials) => S,
  address: string,
  options: ConnectionOptions,
): Connection<S> {
  const { credentials, close } = connectionCredentials(options);
  const stub = new Ctor(address, credentials);
  const defaultMs = options.callTimeoutMs ?? 10_000;
  const attempts = options.attempts ?? 5;
  return {
    stub,
    call: (invoke, timeoutMs = defaultMs) => callWithRetry(invoke, timeoutMs, attempts),
    close: () => {
      stub.close();
      close();
    },
  };
}
