import type { PeerCertificate } from 'node:tls';

/**
 * The principal a verified client certificate names: its first URI SAN
 * (a SPIFFE id, say), else its first DNS SAN. The subject's CN is not used:
 * SANs are what certificate authorities vouch for today.
 * @returns null when the certificate has no usable SAN
 */
export function peerPrincipal(cert: PeerCertificate | undefined): string | null {
  const san = cert?.subjectaltname;
  if (san === undefined || san === '') {
    return null;
  }
  const names = san.split(', ').map((entry) => {
    const colon = entry.indexOf(':');
    return { kind: entry.slice(0, colon), value: entry.slice(colon + 1) };
  });
  return (
    names.find((n) => n.kind === 'URI')?.value ?? names.find((n) => n.kind === 'DNS')?.value ?? null
  );
}
