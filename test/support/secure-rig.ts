import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey } from 'jose';
import type { Config } from '../../src/config.ts';
import { TwopcClient } from 'twopc/internal/twopc-client';
import type { ConnectionOptions } from 'twopc/internal/connection';
import { TwopcOperator } from 'twopc/internal/twopc-operator';
import { serverTlsCredentials } from 'twopc/internal/tls/credentials';
import { TestCa } from './pki.ts';
import type { CertFiles } from './pki.ts';

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'twopc';

/** Who the rig's certificates and tokens name. */
export const PRINCIPAL = {
  shop: 'spiffe://test/shop',
  rival: 'spiffe://test/rival',
  bankA: 'spiffe://test/bank-a',
  ops: 'spiffe://test/ops',
  coordinator: 'spiffe://test/coordinator',
} as const;

/**
 * Everything a secured coordinator needs, made at test time: a CA and
 * another CA, certificates for the coordinator, its callers and its
 * participants, a token signing key (JWKS), the identities and participant
 * registry files.
 */
export class SecureRig {
  readonly ca: TestCa;
  readonly otherCa: TestCa;
  readonly server: CertFiles;
  readonly clients: Record<keyof typeof PRINCIPAL, CertFiles>;
  readonly strangerCert: CertFiles;
  readonly participantServer: CertFiles;
  readonly wrongNameServer: CertFiles;
  readonly jwksFile: string;
  readonly identitiesFile: string;
  readonly registryFile: string;
  readonly #signingKey: CryptoKey;

  private constructor(
    parts: Omit<
      SecureRig,
      'sign' | 'config' | 'client' | 'operator' | 'participantCredentials' | 'remove'
    > & { signingKey: CryptoKey },
  ) {
    this.ca = parts.ca;
    this.otherCa = parts.otherCa;
    this.server = parts.server;
    this.clients = parts.clients;
    this.strangerCert = parts.strangerCert;
    this.participantServer = parts.participantServer;
    this.wrongNameServer = parts.wrongNameServer;
    this.jwksFile = parts.jwksFile;
    this.identitiesFile = parts.identitiesFile;
    this.registryFile = parts.registryFile;
    this.#signingKey = parts.signingKey;
  }

  static async create(registry: Record<string, string[]>): Promise<SecureRig> {
    const ca = await TestCa.create('twopc test CA');
    const otherCa = await TestCa.create('another CA');
    const server = await ca.issue('coordinator-server', { ips: ['127.0.0.1'], dns: ['localhost'] });
    const clients = {} as Record<keyof typeof PRINCIPAL, CertFiles>;
    for (const [k, uri] of Object.entries(PRINCIPAL)) {
      clients[k as keyof typeof PRINCIPAL] = await ca.issue(`client-${k}`, { uris: [uri] });
    }
    const strangerCert = await otherCa.issue('stranger', { uris: [PRINCIPAL.shop] }, ca.dir);
    const participantServer = await ca.issue('participant-server', { ips: ['127.0.0.1'] });
    const wrongNameServer = await ca.issue('wrong-name-server', { dns: ['bank-z.example'] });
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const jwksFile = join(ca.dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
    const identitiesFile = join(ca.dir, 'identities.json');
    writeFileSync(
      identitiesFile,
      JSON.stringify({
        principals: {
          [PRINCIPAL.shop]: { tenant: 'shop', roles: ['client'] },
          [PRINCIPAL.rival]: { tenant: 'rival', roles: ['client'] },
          [PRINCIPAL.bankA]: { tenant: 'shop', roles: ['participant'], participant: 'bank-a' },
          [PRINCIPAL.ops]: { roles: ['operator'] },
          // A certificate whose only SAN is this DNS name.
          'dns:ops.dns.test': { roles: ['operator'] },
        },
      }),
    );
    const registryFile = join(ca.dir, 'participants.json');
    writeFileSync(registryFile, JSON.stringify({ participants: registry }));
    return new SecureRig({
      ca,
      otherCa,
      server,
      clients,
      strangerCert,
      participantServer,
      wrongNameServer,
      jwksFile,
      identitiesFile,
      registryFile,
      signingKey: privateKey as CryptoKey,
    });
  }

  /** A token signed by the rig's key; claims and lifetime can be bent to test refusals. */
  async sign(
    subject: string,
    claims: Record<string, unknown>,
    over: { audience?: string; issuer?: string; expiresIn?: string | number } = {},
  ): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject(subject)
      .setIssuer(over.issuer ?? ISSUER)
      .setAudience(over.audience ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(over.expiresIn ?? '5m')
      .sign(this.#signingKey);
  }

  /** Coordinator settings: TLS, mutual TLS or tokens, identities, registry, TLS to participants. */
  config(): Partial<Config> {
    return {
      tlsCert: this.server.certFile,
      tlsKey: this.server.keyFile,
      tlsClientCa: this.ca.caFile,
      tlsReloadMs: 200,
      tokenKeys: this.jwksFile,
      tokenIssuer: ISSUER,
      tokenAudience: AUDIENCE,
      identitiesFile: this.identitiesFile,
      participantsFile: this.registryFile,
      participantTlsCa: this.ca.caFile,
      participantTlsCert: this.clients.coordinator.certFile,
      participantTlsKey: this.clients.coordinator.keyFile,
    };
  }

  /** A client with a certificate of `who` (or other connection options). */
  client(address: string, who: keyof typeof PRINCIPAL | ConnectionOptions): TwopcClient {
    return new TwopcClient(address, { attempts: 1, ...this.#connection(who) });
  }

  operator(address: string, who: keyof typeof PRINCIPAL | ConnectionOptions): TwopcOperator {
    return new TwopcOperator(address, { attempts: 1, ...this.#connection(who) });
  }

  #connection(who: keyof typeof PRINCIPAL | ConnectionOptions): ConnectionOptions {
    return typeof who === 'string'
      ? { tls: { caFile: this.ca.caFile, ...this.clients[who] } }
      : who;
  }

  /** Server credentials of a participant: its certificate, requiring the coordinator's (mutual TLS). */
  participantCredentials(files: CertFiles = this.participantServer): grpc.ServerCredentials {
    return serverTlsCredentials({ ...files, caFile: this.ca.caFile }).credentials;
  }

  remove(): void {
    this.ca.remove();
    this.otherCa.remove();
  }
}
