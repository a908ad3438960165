import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { ReloadingCertificates } from './reloading-certificates.ts';

/** TLS settings of one side of a link, as PEM file paths. */
export interface TlsFiles {
  /** This side's certificate chain (a server's, or a client's for mutual TLS). */
  readonly certFile?: string | null;
  readonly keyFile?: string | null;
  /**
   * CA certificates to trust: a server requires client certificates signed
   * by them (mutual TLS); a client checks the server against them (system
   * roots when unset).
   */
  readonly caFile?: string | null;
  /** How often the files are read again (default 60 s). */
  readonly reloadMs?: number;
}

/** Credentials, and how to stop watching their files. */
export interface Managed<C> {
  readonly credentials: C;
  close(): void;
}

const DEFAULT_RELOAD_MS = 60_000;

/**
 * A server's TLS credentials, reloaded from disk: a renewed certificate is
 * served to new connections without a restart. With `caFile` the server
 * asks for a client certificate signed by that CA, and requires one at the
 * handshake unless `optionalClientCert` (then callers may present a bearer
 * token instead; grpc-js only reports certificates that verified).
 * `certificates` is the material in use, for another listener to serve too.
 * @throws Error when the files cannot be used
 */
export function serverTlsCredentials(
  files: TlsFiles,
  onError?: (err: Error) => void,
  optionalClientCert = false,
): Managed<grpc.ServerCredentials> & { readonly certificates: ReloadingCertificates } {
  if (files.certFile == null || files.keyFile == null) {
    throw new Error('serving TLS needs a certificate and its key');
  }
  const provider = new ReloadingCertificates(files, files.reloadMs ?? DEFAULT_RELOAD_MS, onError);
  const mutual = files.caFile != null;
  // grpc-js names the first parameter caCertificateProvider but uses it as
  // the identity provider (and the second as the CA provider); one provider
  // holding both serves either way.
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(
    provider,
    mutual ? provider : null,
    mutual && !optionalClientCert,
  );
  return { credentials, certificates: provider, close: () => provider.close() };
}

/**
 * A client's TLS credentials: the server's certificate is checked against
 * `caFile` (or the system's roots) and the name dialled; with a certificate
 * and key, it is presented for mutual TLS. Files under `caFile` are reloaded.
 * @throws Error when the files cannot be used
 */
export function channelTlsCredentials(
  files: TlsFiles,
  onError?: (err: Error) => void,
): Managed<grpc.ChannelCredentials> {
  const hasIdentity = files.certFile != null && files.keyFile != null;
  if (files.caFile == null) {
    const credentials = grpc.credentials.createSsl(
      null,
      hasIdentity ? readFileSync(files.keyFile as string) : null,
      hasIdentity ? readFileSync(files.certFile as string) : null,
    );
    return { credentials, close: () => undefined };
  }
  const provider = new ReloadingCertificates(files, files.reloadMs ?? DEFAULT_RELOAD_MS, onError);
  const credentials = grpc.experimental.createCertificateProviderChannelCredentials(
    provider,
    hasIdentity ? provider : null,
  );
  return { credentials, close: () => provider.close() };
}
