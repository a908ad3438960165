import { readFileSync } from 'node:fs';
import { DEFAULT_TENANT, parseRole } from './caller.ts';
import type { Role } from './caller.ts';

/** What an identity is granted: its tenant, roles and participant name. */
export interface Grant {
  readonly tenant: string;
  /** The tenant was named (an operator is then confined to it). */
  readonly tenantScoped: boolean;
  readonly roles: ReadonlySet<Role>;
  readonly participant: string | null;
}

/** The identities file: principal key (`uri:…`, `dns:…`, `sub:…`: see principalKey) → grant. */
export type Identities = ReadonlyMap<string, Grant>;

/**
 * The key a file entry names, with its kind: `uri:<URI>`, `dns:<host>` or
 * `sub:<token subject>` as written; unprefixed, a name with `://` is a
 * certificate's URI SAN and anything else a token's subject. A DNS SAN is
 * only ever named with `dns:`.
 */
export function entryKey(entry: string): string {
  if (/^(uri|dns|sub):/.test(entry)) {
    return entry.startsWith('dns:') ? entry.toLowerCase() : entry;
  }
  return entry.includes('://') ? `uri:${entry}` : `sub:${entry}`;
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Reads a grant from an untrusted object (a file entry or a token's claims).
 * @param where what to name in errors
 * @throws Error saying what to fix
 */
export function parseGrant(raw: unknown, where: string): Grant {
  const entry = (raw ?? {}) as { tenant?: unknown; roles?: unknown; participant?: unknown };
  const tenant = entry.tenant ?? DEFAULT_TENANT;
  if (typeof tenant !== 'string' || !TENANT.test(tenant)) {
    throw new Error(`${where}: tenant must be letters, digits, '.', '_' or '-' (1-63 characters)`);
  }
  const list =
    typeof entry.roles === 'string'
      ? entry.roles.split(/[\s,]+/).filter((r) => r !== '')
      : entry.roles;
  if (!Array.isArray(list) || list.length === 0) {
    throw new Error(`${where}: roles must list at least one of client, participant, operator`);
  }
  const roles = new Set<Role>();
  for (const r of list) {
    const role = parseRole(String(r));
    if (role === null) {
      throw new Error(`${where}: '${String(r)}' is not a role (client, participant, operator)`);
    }
    roles.add(role);
  }
  const participant = entry.participant ?? null;
  if (participant !== null && (typeof participant !== 'string' || !NAME.test(participant))) {
    throw new Error(`${where}: participant must be a participant name`);
  }
  if (roles.has('participant') && participant === null) {
    throw new Error(`${where}: the participant role needs the participant name it enlists as`);
  }
  return { tenant, tenantScoped: entry.tenant !== undefined, roles, participant };
}

/**
 * Loads the identities file: `{"principals": {"<principal>": {"tenant":
 * "...", "roles": ["client"], "participant": "bank-a"}}}`, each principal
 * named with its kind (see entryKey).
 * @throws Error naming the file and what to fix
 */
export function loadIdentities(path: string): Identities {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`identities file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const principals = (parsed as { principals?: unknown } | null)?.principals;
  if (typeof principals !== 'object' || principals === null) {
    throw new Error(`identities file ${path}: needs a "principals" object`);
  }
  const out = new Map<string, Grant>();
  for (const [principal, raw] of Object.entries(principals)) {
    out.set(entryKey(principal), parseGrant(raw, `identities file ${path}, "${principal}"`));
  }
  return out;
}
