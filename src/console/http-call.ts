import type { IncomingMessage } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { rawValues } from '../grpc/duplicate-headers.ts';

/** What the security room reads of a call, taken from an HTTP request. */
export interface HttpCall {
  readonly metadata: grpc.Metadata;
  getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: PeerCertificate };
  getPeer(): string;
}

/**
 * An HTTP request seen as the security room sees a gRPC call: its
 * `authorization` header as metadata, the client certificate the TLS
 * handshake verified (none otherwise: like grpc-js, only verified
 * certificates are reported) and the peer's address. The console is then
 * admitted by the same authentication, roles and audit as the Operator API.
 */
export function httpCall(req: IncomingMessage): HttpCall {
  const metadata = new grpc.Metadata();
  // Every Authorization field, not only the one Node keeps: the security
  // room refuses a request that carries several.
  for (const value of rawValues(req.rawHeaders, 'authorization')) {
    metadata.add('authorization', value);
  }
  const socket = req.socket as Partial<TLSSocket>;
  const tls = socket.encrypted === true;
  return {
    metadata,
    getAuthContext: () => {
      if (!tls || socket.authorized !== true || socket.getPeerCertificate === undefined) {
        return tls ? { transportSecurityType: 'ssl' } : {};
      }
      return { transportSecurityType: 'ssl', sslPeerCertificate: socket.getPeerCertificate() };
    },
    getPeer: () => `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`,
  };
}
