/** What a caller may do. */
export const Role = {
  CLIENT: 'client',
  PARTICIPANT: 'participant',
  OPERATOR: 'operator',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** Every role, for a coordinator that authenticates nobody (loopback, development). */
export const ALL_ROLES: readonly Role[] = [Role.CLIENT, Role.PARTICIPANT, Role.OPERATOR];

/** The tenant of callers when authentication is off, and of transactions begun before tenants. */
export const DEFAULT_TENANT = 'default';

/** Who is calling, as the security room established it. */
export interface Caller {
  /** The certificate's SAN or the token's subject; `anonymous` when authentication is off. */
  readonly principal: string;
  readonly tenant: string;
  /**
   * The identity names its tenant: an operator is then confined to it
   * (without one, an operator sees every tenant).
   */
  readonly tenantScoped: boolean;
  readonly roles: ReadonlySet<Role>;
  /** The participant name this identity may enlist as, if it is a participant. */
  readonly participant: string | null;
  /** How it was identified. */
  readonly via: 'certificate' | 'token' | 'none';
}

/**
 * Which transactions a call may see or touch: those of `tenant` (null: any,
 * for operators and callers when authentication is off), and for a caller
 * that is only a participant, those it is enlisted in under `participant`.
 */
export interface TxScope {
  readonly tenant: string | null;
  readonly participant: string | null;
}

/** The scope that sees everything. */
export const ANY_SCOPE: TxScope = { tenant: null, participant: null };

/** The caller used when authentication is off: every role, the default tenant. */
export const ANONYMOUS: Caller = {
  principal: 'anonymous',
  tenant: DEFAULT_TENANT,
  tenantScoped: false,
  roles: new Set(ALL_ROLES),
  participant: null,
  via: 'none',
};

/** The scope a caller's reads and writes are limited to. */
export function scopeOf(caller: Caller, authenticated: boolean): TxScope {
  const operator = caller.roles.has(Role.OPERATOR);
  if (!authenticated || (operator && !caller.tenantScoped)) {
    return ANY_SCOPE;
  }
  const onlyParticipant =
    !operator && !caller.roles.has(Role.CLIENT) && caller.roles.has(Role.PARTICIPANT);
  // A participant identity without a bound name sees nothing ('' is never a name).
  return {
    tenant: caller.tenant,
    participant: onlyParticipant ? (caller.participant ?? '') : null,
  };
}

/** Parses a role name. @returns null when it is not one. */
export function parseRole(value: string): Role | null {
  return (ALL_ROLES as readonly string[]).includes(value) ? (value as Role) : null;
}

/** The principal a transaction or an audit record keeps: none when nobody was authenticated. */
export function recordedPrincipal(caller: Caller): string | null {
  return caller.via === 'none' ? null : caller.principal;
}
