import type { PeerCertificate } from 'node:tls';
import { UnauthenticatedError } from 'twopc/internal/contract/errors';

/** The kinds of principal: a certificate's URI or DNS SAN, a token's subject. */
export type PrincipalKind = 'uri' | 'dns' | 'sub';

/** A principal with its kind: names of two kinds never meet. */
export interface Principal {
  readonly kind: PrincipalKind;
  readonly name: string;
}

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * The key of a principal in the identities table: `uri:…`, `dns:…` or
 * `sub:…`. A DNS SAN spelled like a URI, or a token subject spelled like
 * either, finds no grant of the other kind.
 */
export function principalKey(p: Principal): string {
  return `${p.kind}:${p.name}`;
}

/** How a principal is shown (audit, operator actions): a URI or a token subject as it is, a DNS name as `dns:name`. */
export function principalLabel(p: Principal): string {
  return p.kind === 'dns' ? `dns:${p.name}` : p.name;
}

/**
 * The principal a verified client certificate names: its first URI SAN
 * (a SPIFFE id, say), else its first DNS SAN, which must be a host name
 * (a DNS SAN spelled like a URI is refused, never taken for one). The
 * subject's CN is not used: SANs are what certificate authorities vouch
 * for today.
 * @returns null when the certificate has no SAN of either kind
 * @throws UnauthenticatedError for a DNS SAN that is not a host name
 */
export function peerPrincipal(cert: PeerCertificate | undefined): Principal | null {
  const san = cert?.subjectaltname;
  if (san === undefined || san === '') {
    return null;
  }
  const names = san.split(', ').map((entry) => {
    const colon = entry.indexOf(':');
    return { kind: entry.slice(0, colon), value: entry.slice(colon + 1) };
  });
  const uri = names.find((n) => n.kind === 'URI');
  if (uri !== undefined) {
    return { kind: 'uri', name: uri.value };
  }
  const dns = names.find((n) => n.kind === 'DNS');
  if (dns === undefined) {
    return null;
  }
  if (!HOST_NAME.test(dns.value)) {
    throw new UnauthenticatedError(
      `the client certificate's DNS SAN '${dns.value.slice(0, 100)}' is not a host name; a URI identity belongs in a URI SAN`,
    );
  }
  return { kind: 'dns', name: dns.value.toLowerCase() };
}
