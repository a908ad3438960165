import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createLocalJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose';
import { UnauthenticatedError } from 'twopc/internal/contract/errors';
import type { Clock } from 'twopc/internal/time/clock';

/** How tokens are checked. */
export interface TokenSettings {
  /** A JWKS file (`{"keys": [...]}`) or a PEM public key file. */
  readonly keysFile: string;
  readonly issuer: string;
  readonly audience: string;
  readonly clockSkewS: number;
  /** How often the keys file is looked at again (a rotated key is picked up). */
  readonly reloadMs: number;
}

/** Only asymmetric signatures: a leaked verification key must not sign tokens. */
const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
];

type Keys = JWTVerifyGetKey | KeyObject;

async function readKeys(path: string): Promise<Keys> {
  const text = await readFile(path, 'utf8');
  if (text.trimStart().startsWith('{')) {
    return createLocalJWKSet(JSON.parse(text) as JSONWebKeySet);
  }
  return createPublicKey(text);
}

/**
 * Verifies bearer tokens (JWT) with jose: signature against the configured
 * keys, issuer, audience, expiry and not-before with a clock-skew allowance.
 * Subject and expiry are required: a token that never expires is refused.
 */
export class TokenVerifier {
  readonly #settings: TokenSettings;
  readonly #clock: Clock;
  #keys: Keys;
  #mtimeMs = 0;
  #checkedAt: number;

  private constructor(settings: TokenSettings, clock: Clock, keys: Keys, mtimeMs: number) {
    this.#settings = settings;
    this.#clock = clock;
    this.#keys = keys;
    this.#mtimeMs = mtimeMs;
    this.#checkedAt = clock.now();
  }

  /** Loads the keys. @throws Error naming the file when it cannot be read or parsed */
  static async open(settings: TokenSettings, clock: Clock): Promise<TokenVerifier> {
    try {
      const { mtimeMs } = await stat(settings.keysFile);
      return new TokenVerifier(settings, clock, await readKeys(settings.keysFile), mtimeMs);
    } catch (err) {
      throw new Error(`token keys file ${settings.keysFile}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** A rotated keys file is read again; a broken one keeps the previous keys. */
  async #refresh(): Promise<void> {
    const now = this.#clock.now();
    if (now - this.#checkedAt < this.#settings.reloadMs) {
      return;
    }
    this.#checkedAt = now;
    try {
      const { mtimeMs } = await stat(this.#settings.keysFile);
      if (mtimeMs !== this.#mtimeMs) {
        this.#keys = await readKeys(this.#settings.keysFile);
        this.#mtimeMs = mtimeMs;
      }
    } catch {
      // keep the keys in use; the next look may find the file complete
    }
  }

  /** The verified claims. @throws UnauthenticatedError saying what is wrong with the token */
  async verify(token: string): Promise<JWTPayload & { sub: string }> {
    await this.#refresh();
    const options = {
      issuer: this.#settings.issuer,
      audience: this.#settings.audience,
      clockTolerance: this.#settings.clockSkewS,
      algorithms: ALGORITHMS,
      requiredClaims: ['exp', 'sub'],
    };
    try {
      const keys = this.#keys;
      const { payload } =
        typeof keys === 'function'
          ? await jwtVerify(token, keys, options)
          : await jwtVerify(token, keys, options);
      return payload as JWTPayload & { sub: string };
    } catch (err) {
      throw new UnauthenticatedError(`bearer token refused: ${tokenProblem(err)}`);
    }
  }
}

/** What is wrong with a token, in words that help its holder and reveal no key material. */
function tokenProblem(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) {
    return 'it has expired';
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return `claim '${err.claim}' ${err.reason === 'missing' ? 'is missing' : 'is not accepted'}`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
    return 'its signature does not verify';
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey) {
    return 'no configured key matches it';
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) {
    return 'its algorithm is not accepted (asymmetric signatures only)';
  }
  return 'it is not a valid JWT';
}
