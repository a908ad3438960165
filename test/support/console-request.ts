import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';

/** How a test reaches the console: over HTTPS, trusting `caFile`, with a token and/or a client certificate. */
export interface ConsoleCaller {
  readonly caFile: string;
  readonly token?: string;
  readonly cert?: { certFile: string; keyFile: string };
  readonly headers?: Record<string, string>;
}

export interface ConsoleAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON (null when it is not). */
  readonly json: Record<string, unknown> | null;
}

/** One request to the console at `url` (https://host:port/path). */
export async function consoleRequest(
  url: string,
  who: ConsoleCaller,
  method = 'GET',
  body?: unknown,
): Promise<ConsoleAnswer> {
  const target = new URL(url);
  const headers: Record<string, string> = { ...who.headers };
  if (who.token !== undefined) {
    headers.authorization = `Bearer ${who.token}`;
  }
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined && headers['content-type'] === undefined) {
    headers['content-type'] = 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method,
        headers,
        ca: readFileSync(who.caFile),
        ...(who.cert === undefined
          ? {}
          : { cert: readFileSync(who.cert.certFile), key: readFileSync(who.cert.keyFile) }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> | null = null;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
