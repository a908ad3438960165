import {
  LimitExceededError,
  PermissionDeniedError,
  TwopcError,
} from 'twopc/internal/contract/errors';
import type { TxId } from '../core/tx-record.ts';
import type { AuditLog } from './audit-log.ts';
import type { Authenticator, CallInfo } from './authenticator.ts';
import { scopeOf } from './caller.ts';
import type { Caller, TxScope } from './caller.ts';
import type { EndpointPolicy } from './endpoint-policy.ts';
import { METHOD_RULES } from './method-rules.ts';
import type { OpenTxLimits, OpenTxTicket } from './open-tx-limits.ts';
import type { TxGuard } from './tx-guard.ts';

/** What a request asks for, as far as security cares (parsed by the gRPC layer). */
export interface RequestFacts {
  /** The transaction it names. */
  readonly txnId?: TxId;
  /** Participants it would have the coordinator dial. */
  readonly participants?: readonly { name: string; endpoint: string }[];
  /** Enlist: the name the caller enlists under. */
  readonly enlistAs?: string;
  /** Begin: counts against the open-transaction caps. */
  readonly opens?: boolean;
}

/** A call let in: who calls, and what it may see. */
export interface Admitted {
  readonly caller: Caller;
  readonly scope: TxScope;
  readonly facts: RequestFacts;
  /** Begin: its place under the open-transaction caps, settled by finished(). */
  readonly ticket: OpenTxTicket | null;
}

export interface SecurityParts {
  /** Largest metadata (keys and values, bytes) a call may carry. */
  readonly maxMetadataBytes: number;
  readonly authenticator: Authenticator;
  readonly guard: TxGuard;
  readonly endpoints: EndpointPolicy;
  readonly limits: OpenTxLimits;
  readonly audit: AuditLog;
}

type Call = CallInfo & { getPeer(): string };

/**
 * The security room. Every call passes admit() before its handler runs:
 * authentication (UNAUTHENTICATED before any work), the method's roles
 * (PERMISSION_DENIED), the participant name an identity is bound to, the
 * tenant boundary (another tenant's transaction is NOT_FOUND), the
 * allowed participant endpoints (checked before any dial) and the
 * open-transaction caps (RESOURCE_EXHAUSTED). Handlers hold no checks.
 */
export class Security {
  readonly #parts: SecurityParts;

  constructor(parts: SecurityParts) {
    this.#parts = parts;
  }

  /** Whether callers are authenticated (else every caller has every role). */
  get authenticating(): boolean {
    return this.#parts.authenticator.required;
  }

  /**
   * Lets a call in or refuses it.
   * @param facts parses the request; runs only once the caller is authenticated and authorized
   * @throws UnauthenticatedError, PermissionDeniedError, TxNotFoundError, EndpointNotAllowedError, LimitExceededError, InvalidArgumentError
   */
  async admit(method: string, call: Call, facts: () => RequestFacts): Promise<Admitted> {
    let caller: Caller | null = null;
    try {
      this.#checkMetadataSize(call);
      caller = await this.#parts.authenticator.authenticate(call);
      const rule = METHOD_RULES[method];
      if (rule === undefined || !rule.roles.some((r) => caller?.roles.has(r))) {
        throw new PermissionDeniedError(
          `${method} needs the role ${rule?.roles.join(' or ') ?? '(none: closed)'}; '${caller.principal}' has ${[...caller.roles].join(', ')}`,
        );
      }
      const parsed = facts();
      const scope = scopeOf(caller, this.authenticating);
      const ticket = await this.#checkRequest(caller, scope, parsed);
      return { caller, scope, facts: parsed, ticket };
    } catch (err) {
      // An audited method is audited whatever becomes of it, refused here
      // included (a malformed id, an unknown transaction); any other
      // method's refusals of identity and role are audited too.
      if (METHOD_RULES[method]?.audited === true || (err instanceof TwopcError && isRefusal(err))) {
        this.#audit(method, call, caller, null, err);
      }
      throw err;
    }
  }

  #checkMetadataSize(call: Call): void {
    let bytes = 0;
    for (const [key, values] of Object.entries(call.metadata.getMap())) {
      bytes += key.length + (typeof values === 'string' ? values.length : values.length);
    }
    if (bytes > this.#parts.maxMetadataBytes) {
      throw new LimitExceededError(
        'TWOPC_MAX_METADATA_BYTES',
        `the call carries ${bytes} bytes of metadata, the cap is ${this.#parts.maxMetadataBytes}`,
        null,
      );
    }
  }

  async #checkRequest(
    caller: Caller,
    scope: TxScope,
    facts: RequestFacts,
  ): Promise<OpenTxTicket | null> {
    if (
      facts.enlistAs !== undefined &&
      this.authenticating &&
      facts.enlistAs !== caller.participant
    ) {
      throw new PermissionDeniedError(
        `'${caller.principal}' may enlist only as ${caller.participant === null ? 'no participant' : `'${caller.participant}'`}, not '${facts.enlistAs}'`,
      );
    }
    if (facts.txnId !== undefined) {
      // An Enlist is by a participant not enlisted yet: the tenant alone decides.
      const txScope = facts.enlistAs !== undefined ? { ...scope, participant: null } : scope;
      await this.#parts.guard.check(txScope, facts.txnId);
    }
    for (const p of facts.participants ?? []) {
      await this.#parts.endpoints.check(p.name, p.endpoint);
    }
    return facts.opens === true ? this.#parts.limits.admit(caller.tenant) : null;
  }

  /** A transaction begun by this caller: its tenant is known from now on. */
  began(txnId: TxId, admitted: Admitted): void {
    this.#parts.guard.remember(txnId, admitted.caller.tenant);
  }

  /** Settles an admitted call: its open-transaction ticket, and the audit line of an audited method. */
  finished(method: string, call: Call, admitted: Admitted, err: unknown): void {
    admitted.ticket?.(err === null);
    if (METHOD_RULES[method]?.audited === true) {
      this.#audit(method, call, admitted.caller, admitted.facts, err);
    }
  }

  #audit(
    method: string,
    call: Call,
    caller: Caller | null,
    facts: RequestFacts | null,
    err: unknown,
  ): void {
    const result = err === null ? 'OK' : err instanceof TwopcError ? err.code : 'INTERNAL';
    this.#parts.audit.record(
      {
        method,
        caller,
        peer: call.getPeer(),
        txnId: facts?.txnId ?? null,
        participant: facts?.enlistAs ?? null,
        result,
        detail: err instanceof Error ? err.message : null,
      },
      METHOD_RULES[method]?.read === true,
    );
  }
}

function isRefusal(err: TwopcError): boolean {
  return err.code === 'TWOPC_UNAUTHENTICATED' || err.code === 'TWOPC_PERMISSION_DENIED';
}
