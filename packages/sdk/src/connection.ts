import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { backoffMs } from './shared/backoff.ts';
import { channelTlsCredentials } from './tls/credentials.ts';
import type { TlsFiles } from './tls/credentials.ts';
import { sleep } from './time/clock.ts';
import { deadlineIn, msUntil } from './time/deadline-signal.ts';
import { SystemClock } from './time/system-clock.ts';

// The caller awaits every back-off: its timer must keep the process alive.
const CLOCK = new SystemClock({ holdProcess: true });

/** A bearer token, or a function giving the current one (called per call: refresh there). */
export type TokenSource = string | (() => string | Promise<string>);

/** How a client reaches the coordinator. */
export interface ConnectionOptions {
  /** Deadline of each call (ms), its retries included. */
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
    throw new Error(
      'a bearer token is sent only over TLS: give the tls option (caFile, and certFile/keyFile for mutual TLS) or TLS credentials',
    );
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
 * the server's hint; every twopc call is safe to repeat. `timeoutMs` is the
 * caller's deadline for the whole call, retries included: every attempt
 * carries the same deadline, and no retry is waited for past it. Once the
 * attempts or the time are spent the call rejects with the last gRPC error
 * (an UNAVAILABLE that says why, rather than a bare DEADLINE_EXCEEDED).
 */
export async function callWithRetry<Res>(
  invoke: Invoke<Res>,
  timeoutMs: number,
  attempts: number,
): Promise<Res> {
  const deadline = deadlineIn(timeoutMs);
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise<Res>((resolve, reject) => {
        invoke(new grpc.Metadata(), { deadline }, (err, res) =>
          err || res === undefined ? reject(err) : resolve(res),
        );
      });
    } catch (err) {
      const wait = retryDelayMs(err as grpc.ServiceError | null, attempt);
      if (wait === null || attempt >= attempts || wait >= msUntil(deadline)) {
        throw err;
      }
      await sleep(CLOCK, wait);
    }
  }
}

/**
 * grpc-js reports a channel that never connected as "round_robin: No
 * connection established. Last error: … Resolution note: " (its own words,
 * twice over, with an empty note). Said instead as what an application's
 * log should show: which coordinator, what the socket said, what to check.
 * The error keeps its code (UNAVAILABLE) and metadata.
 */
export function explainUnreachable(err: unknown, target: string): unknown {
  const e = err as Partial<grpc.ServiceError> | null;
  if (e?.code !== grpc.status.UNAVAILABLE || !/No connection established/.test(e.details ?? '')) {
    return err;
  }
  const raw = e.details ?? '';
  const last = raw.lastIndexOf('Last error: ');
  const cause = (last < 0 ? raw : raw.slice(last + 'Last error: '.length))
    .replace(/\s*Resolution note:.*$/s, '')
    .replace(/^Error: /, '')
    .replace(/\.$/, '');
  const details = `cannot reach the coordinator at ${target} (${cause}): is it running, and is that its address?`;
  return Object.assign(err as object, { details, message: `${e.code} UNAVAILABLE: ${details}` });
}

/** A stub over one channel with this package's retries and credentials. */
export interface Connection<S> {
  readonly stub: S;
  /** Calls with retries, with the connection's deadline unless `timeoutMs`. */
  call<Res>(invoke: Invoke<Res>, timeoutMs?: number): Promise<Res>;
  close(): void;
}

/** One coordinator (host:port or a gRPC target such as `dns:///twopc.svc:50051`), or several. */
export type CoordinatorAddress = string | readonly string[];

/**
 * The gRPC target for one or several coordinators. Several are given as IP
 * addresses (one `ipv4:`/`ipv6:` target) or as one DNS name with several
 * records; gRPC balances calls over them either way.
 * @throws Error for a list that names hosts
 */
export function coordinatorTarget(address: CoordinatorAddress): string {
  if (typeof address === 'string' && address !== '') {
    return address;
  }
  if (!Array.isArray(address)) {
    // JavaScript callers can pass anything (an unset environment variable).
    throw new TypeError(
      `no coordinator address (got ${JSON.stringify(address) ?? String(address)}): give host:port, such as 127.0.0.1:50051`,
    );
  }
  if (address.length === 1 && address[0] !== undefined) {
    return address[0];
  }
  const hosts = address.map((a) => a.slice(0, a.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1'));
  const families = new Set(hosts.map((h) => isIP(h)));
  if (address.length === 0 || families.has(0) || families.size > 1) {
    throw new Error(
      'several coordinators are given as IP addresses of one family (host:port), or as one DNS name with several records (dns:///name:port)',
    );
  }
  return `${families.has(6) ? 'ipv6' : 'ipv4'}:${address.join(',')}`;
}

/**
 * Client-side load balancing over every coordinator the target resolves to
 * (any coordinator answers for any transaction), and gRPC's own retry of
 * UNAVAILABLE (every twopc call is idempotent) on another one. Keepalive
 * pings find a coordinator that stopped answering (a paused process keeps
 * its connections open).
 */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.service_config': JSON.stringify({
    loadBalancingConfig: [{ round_robin: {} }],
    methodConfig: [
      {
        name: [{ service: 'twopc.v1.Coordinator' }, { service: 'twopc.v1.Operator' }],
        retryPolicy: {
          maxAttempts: 4,
          initialBackoff: '0.05s',
          maxBackoff: '1s',
          backoffMultiplier: 2,
          retryableStatusCodes: ['UNAVAILABLE'],
        },
      },
    ],
  }),
  // A paused coordinator holds its connections open: calls routed to it
  // would hang until their deadline. Pings unanswered for 2 s drop it.
  'grpc.keepalive_time_ms': 3_000,
  'grpc.keepalive_timeout_ms': 2_000,
};

/**
 * Opens a stub of a generated service to one or several coordinators.
 * @throws Error when the TLS files cannot be used, or a token is given without TLS
 */
export function openConnection<S extends { close(): void }>(
  Ctor: new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options: grpc.ChannelOptions,
  ) => S,
  address: CoordinatorAddress,
  options: ConnectionOptions,
): Connection<S> {
  const { credentials, close } = connectionCredentials(options);
  const target = coordinatorTarget(address);
  const stub = new Ctor(target, credentials, CHANNEL_OPTIONS);
  const defaultMs = options.callTimeoutMs ?? 10_000;
  const attempts = options.attempts ?? 5;
  return {
    stub,
    call: (invoke, timeoutMs = defaultMs) =>
      callWithRetry(invoke, timeoutMs, attempts).catch((err: unknown) => {
        throw explainUnreachable(err, target);
      }),
    close: () => {
      stub.close();
      close();
    },
  };
}
