import type {
  IncomingHttpHeaders,
  Http2Server,
  Http2SecureServer,
  ServerHttp2Stream,
} from 'node:http2';
import type * as grpc from '@grpc/grpc-js';

/** Request fields of which a call may carry one only: credentials. */
const SINGLE = ['authorization'] as const;

/**
 * Every value of `name` in a request's raw header list (Node's header
 * object keeps only the first of a field it treats as single-valued, such
 * as `authorization`, and drops the rest without a word).
 */
export function rawValues(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === name) {
      values.push(rawHeaders[i + 1] ?? '');
    }
  }
  return values;
}

/**
 * Makes a call that carries several `authorization` fields show all of
 * them to the security room, which refuses such a call, whatever HTTP/2
 * kept. grpc-js builds a call's metadata from the header object its
 * HTTP/2 server hands to `stream` listeners; a listener placed before its
 * own puts every raw value back into that object.
 *
 * grpc-js keeps its HTTP/2 servers private (`http2Servers`); if that ever
 * changes, this throws at start-up rather than let the check lapse.
 * @throws Error when grpc-js's HTTP/2 servers cannot be found
 */
export function showDuplicateCredentials(server: grpc.Server): void {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) {
    throw new Error(
      'grpc-js no longer exposes its HTTP/2 servers: duplicate authorization headers cannot be refused',
    );
  }
  for (const h2 of servers.keys() as Iterable<Http2Server | Http2SecureServer>) {
    h2.prependListener(
      'stream',
      (
        _stream: ServerHttp2Stream,
        headers: IncomingHttpHeaders,
        _flags: number,
        raw?: string[],
      ) => {
        for (const name of SINGLE) {
          const values = rawValues(raw ?? [], name);
          if (values.length > 1) {
            // Node types a single-valued field as a string; an array makes
            // grpc-js add each value to the call's metadata.
            (headers as Record<string, string | string[] | undefined>)[name] = values;
          }
        }
      },
    );
  }
}
