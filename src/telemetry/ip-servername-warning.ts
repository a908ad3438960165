/**
 * Drops Node's DEP0123 warning ("Setting the TLS ServerName to an IP address
 * is not permitted by RFC 6066"), and only it. grpc-js sets the TLS server
 * name to the host it dials, an IP address included (grpc/grpc-node#1919);
 * Node ignores such a name (no SNI is sent) and the certificate is still
 * checked against the IP's SAN, so the warning is noise in the middle of an
 * operator's output. An application entry point (`twopc serve`, the demo)
 * calls this once; the SDK never changes a process's warnings by itself.
 */
export function quietIpServerNameWarning(): void {
  const emit = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]): void => {
    const code =
      typeof rest[0] === 'object' && rest[0] !== null
        ? (rest[0] as { code?: unknown }).code
        : rest[1];
    if (code === 'DEP0123') {
      return;
    }
    (emit as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}
