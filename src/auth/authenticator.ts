import type * as grpc from '@grpc/grpc-js';
import { PermissionDeniedError, UnauthenticatedError } from 'twopc/internal/contract/errors';
import { parseText } from 'twopc/internal/contract/limits';
import { ANONYMOUS } from './caller.ts';
import type { Caller } from './caller.ts';
import { parseGrant } from './identities.ts';
import type { Grant, Identities } from './identities.ts';
import { peerPrincipal, principalKey, principalLabel } from './peer-principal.ts';
import type { Principal } from './peer-principal.ts';
import type { TokenVerifier } from './token-verifier.ts';

/** How callers are identified. */
export interface AuthenticatorOptions {
  /** Off: every caller is ANONYMOUS (every role, the default tenant). */
  readonly required: boolean;
  readonly identities: Identities;
  readonly tokens: TokenVerifier | null;
}

/** What authentication reads of a call. */
export type CallInfo = Pick<grpc.ServerUnaryCall<unknown, unknown>, 'metadata' | 'getAuthContext'>;

/** Verified tokens kept to skip the signature check on the next call (bounded). */
const TOKEN_CACHE_MAX = 10_000;

/** The call's bearer token, if any. @throws UnauthenticatedError for a malformed header */
function bearerToken(metadata: grpc.Metadata): string | null {
  const values = metadata.get('authorization');
  if (values.length === 0) {
    return null;
  }
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(String(values[0]));
  if (values.length > 1 || match?.[1] === undefined) {
    throw new UnauthenticatedError("the authorization header must be one 'Bearer <token>'");
  }
  return match[1];
}

/**
 * Establishes who calls: a bearer token (JWT) when the call carries one,
 * else the verified client certificate's SAN. Roles, tenant and participant
 * name come from the token's claims (`roles`, `tenant`, `participant`) or,
 * for certificates and tokens without them, from the identities file.
 */
export class Authenticator {
  readonly #options: AuthenticatorOptions;
  readonly #verified = new Map<string, { caller: Caller; expiresAtS: number }>();

  constructor(options: AuthenticatorOptions) {
    this.#options = options;
  }

  get required(): boolean {
    return this.#options.required;
  }

  /** @throws UnauthenticatedError, PermissionDeniedError (identified, but granted nothing) */
  async authenticate(call: CallInfo): Promise<Caller> {
    if (!this.#options.required) {
      return ANONYMOUS;
    }
    const token = bearerToken(call.metadata);
    if (token !== null) {
      return this.#fromToken(token);
    }
    const peer = peerPrincipal(call.getAuthContext().sslPeerCertificate);
    if (peer !== null) {
      const principal = parseText(principalLabel(peer), 'client certificate subjectAltName');
      return { principal, ...this.#grantOf(peer), via: 'certificate' };
    }
    throw new UnauthenticatedError(
      'this coordinator requires a client certificate (mutual TLS) or a bearer token',
    );
  }

  async #fromToken(token: string): Promise<Caller> {
    const nowS = Date.now() / 1000;
    const hit = this.#verified.get(token);
    if (hit !== undefined && hit.expiresAtS > nowS) {
      return hit.caller;
    }
    if (this.#options.tokens === null) {
      throw new UnauthenticatedError(
        'bearer tokens are not accepted here (no token keys are configured)',
      );
    }
    const claims = await this.#options.tokens.verify(token);
    // The subject is stored as the principal of what the caller does.
    parseText(claims.sub, 'token claim sub');
    const grant =
      claims.roles !== undefined
        ? this.#parseClaims(claims, claims.sub)
        : this.#grantOf({ kind: 'sub', name: claims.sub });
    const caller: Caller = { principal: claims.sub, ...grant, via: 'token' };
    if (this.#verified.size >= TOKEN_CACHE_MAX) {
      this.#verified.clear();
    }
    this.#verified.set(token, { caller, expiresAtS: claims.exp ?? 0 });
    return caller;
  }

  #parseClaims(claims: Record<string, unknown>, subject: string): Grant {
    try {
      return parseGrant(claims, `token of '${subject}'`);
    } catch (err) {
      throw new PermissionDeniedError((err as Error).message);
    }
  }

  #grantOf(who: Principal): Grant {
    const principal = principalLabel(who);
    const grant = this.#options.identities.get(principalKey(who));
    if (grant === undefined) {
      throw new PermissionDeniedError(
        `'${principal}' is authenticated but granted no role (add it to the identities file)`,
      );
    }
    return grant;
  }
}
