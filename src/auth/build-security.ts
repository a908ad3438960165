import { isIP } from 'node:net';
import type { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import * as grpc from '@grpc/grpc-js';
import type { Config } from '../config.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Clock } from 'twopc/internal/time/clock';
import { channelTlsCredentials, serverTlsCredentials } from 'twopc/internal/tls/credentials';
import type { ReloadingCertificates } from 'twopc/internal/tls/reloading-certificates';
import { AuditLog } from './audit-log.ts';
import { Authenticator } from './authenticator.ts';
import { EndpointPolicy, loadRegistry } from './endpoint-policy.ts';
import type { OwnEndpoint } from './endpoint-policy.ts';
import { loadIdentities } from './identities.ts';
import { OpenTxLimits, capsWarning } from './open-tx-limits.ts';
import type { OpenTxCounter } from './open-tx-limits.ts';
import { Security } from './security.ts';
import { TokenVerifier } from './token-verifier.ts';
import { TxGuard } from './tx-guard.ts';
import type { TxDirectory } from './tx-guard.ts';

/** Start-up refused: what is unsafe and how to fix it. */
export class InsecureConfigError extends Error {}

/** The security room and the credentials of every link, built from the config. */
export interface SecurityRoom {
  readonly security: Security;
  readonly endpoints: EndpointPolicy;
  readonly serverCredentials: ServerCredentials;
  /** The listener's certificate (and client CA) as reloaded from disk; null without TLS. */
  readonly serverCertificates: ReloadingCertificates | null;
  /** How the coordinator calls participants. */
  readonly participantCredentials: ChannelCredentials;
  /** Human summary for the start-up log line. */
  readonly summary: Record<string, unknown>;
  close(): void;
}

/** Whether a listen host is only reachable from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

/** Whether callers are authenticated. @throws InsecureConfigError when required without a means */
function authenticates(config: Config): boolean {
  const means = config.tlsClientCa !== null || config.tokenKeys !== null;
  if (config.auth === 'required' && !means) {
    throw new InsecureConfigError(
      'TWOPC_AUTH=required needs a way to authenticate: --tls-client-ca and/or --token-keys',
    );
  }
  return config.auth === 'required' || (config.auth === 'auto' && means);
}

/** What a listener reachable from other machines lacks (TLS, authentication). */
function unprotected(config: Config, authenticating: boolean): string[] {
  return [
    config.tlsCert === null ? 'TLS (--tls-cert, --tls-key)' : null,
    authenticating ? null : 'authentication (--tls-client-ca and/or --token-keys)',
  ].filter((m) => m !== null);
}

const INSECURE_HINT =
  'Configure them, listen on 127.0.0.1, or pass --insecure (TWOPC_INSECURE=true) to run unprotected on purpose.';

/** Whether `listen` needs no protection: loopback, or --insecure. */
function exempt(config: Config, listen: string): boolean {
  return config.insecure || isLoopback(listen.slice(0, listen.lastIndexOf(':')));
}

/**
 * Refuses what is unsafe by default: a coordinator (or its console)
 * reachable from other machines without TLS, without authentication or
 * (gRPC) without a participant registry, unless --insecure says so.
 * @throws InsecureConfigError
 */
export function checkSecureByDefault(config: Config): void {
  const authenticating = authenticates(config);
  const console = config.consoleListen;
  if (console !== null && !exempt(config, console)) {
    const missing = unprotected(config, authenticating);
    if (missing.length > 0) {
      throw new InsecureConfigError(
        `refusing to serve the console on ${console} without ${missing.join(', ')}: anyone who ` +
          `can reach the port could abort or resolve every transaction. ${INSECURE_HINT}`,
      );
    }
  }
  if (exempt(config, config.listen)) {
    return;
  }
  const missing = [
    ...unprotected(config, authenticating),
    config.participantsFile === null ? 'a participant registry (--participants-file)' : null,
  ].filter((m) => m !== null);
  if (missing.length > 0) {
    throw new InsecureConfigError(
      `refusing to listen on ${config.listen} without ${missing.join(', ')}: anyone who can ` +
        'reach the port could read, abort or commit every transaction and make this ' +
        `coordinator dial any address. ${INSECURE_HINT}`,
    );
  }
}

/** Builds the security room. @throws InsecureConfigError, Error for unusable files */
export async function buildSecurity(
  config: Config,
  store: TxDirectory & OpenTxCounter,
  own: readonly OwnEndpoint[],
  clock: Clock,
  log: Logger,
): Promise<SecurityRoom> {
  // checkSecureByDefault(config) ran before anything was started (startApp).
  const authenticating = authenticates(config);
  const reloadError = (err: Error): void =>
    log.warn({ err: err.message }, 'TLS files not reloaded; the previous ones stay in use');
  const tokens =
    config.tokenKeys === null
      ? null
      : await TokenVerifier.open(
          {
            keysFile: config.tokenKeys,
            issuer: config.tokenIssuer,
            audience: config.tokenAudience,
            clockSkewS: config.tokenClockSkewS,
            reloadMs: config.tlsReloadMs,
          },
          clock,
        );
  const identities =
    config.identitiesFile === null ? new Map() : loadIdentities(config.identitiesFile);
  const registry = config.participantsFile === null ? null : loadRegistry(config.participantsFile);
  const server =
    config.tlsCert === null
      ? {
          credentials: grpc.ServerCredentials.createInsecure(),
          certificates: null,
          close: () => undefined,
        }
      : serverTlsCredentials(
          {
            certFile: config.tlsCert,
            keyFile: config.tlsKey,
            caFile: config.tlsClientCa,
            reloadMs: config.tlsReloadMs,
          },
          reloadError,
          // With tokens accepted too, a caller without a certificate must get
          // past the handshake to present its token.
          config.tokenKeys !== null,
        );
  const toParticipants =
    config.participantTlsCa === null
      ? { credentials: grpc.credentials.createInsecure(), close: () => undefined }
      : channelTlsCredentials(
          {
            caFile: config.participantTlsCa,
            certFile: config.participantTlsCert,
            keyFile: config.participantTlsKey,
            reloadMs: config.tlsReloadMs,
          },
          reloadError,
        );
  const caps = {
    global: config.maxOpenTransactions,
    perTenant: config.maxOpenTransactionsPerTenant,
  };
  const starving = capsWarning(
    caps,
    [...identities.values()].map((g) => g.tenant),
  );
  if (starving !== null) {
    log.warn(starving);
  }
  const endpoints = new EndpointPolicy(registry, own);
  const security = new Security({
    maxMetadataBytes: config.maxMetadataBytes,
    authenticator: new Authenticator({ required: authenticating, identities, tokens }),
    guard: new TxGuard(store),
    endpoints,
    limits: new OpenTxLimits(caps, store, clock),
    audit: new AuditLog(config.auditLog, log, clock),
  });
  return {
    security,
    endpoints,
    serverCredentials: server.credentials,
    serverCertificates: server.certificates,
    participantCredentials: toParticipants.credentials,
    summary: {
      tls: config.tlsCert === null ? 'off' : config.tlsClientCa === null ? 'on' : 'mutual',
      authentication: authenticating
        ? [config.tlsClientCa && 'certificate', config.tokenKeys && 'token'].filter(Boolean)
        : 'off',
      participant_registry: registry === null ? 'off' : registry.size,
      participant_tls: config.participantTlsCa === null ? 'off' : 'on',
    },
    close: () => {
      server.close();
      toParticipants.close();
    },
  };
}
