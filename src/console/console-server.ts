import { isIP } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { InvalidArgumentError } from 'twopc/internal/contract/errors';
import { ListenError } from '../listen-error.ts';
import type { Logger } from '../telemetry/logger.ts';
import { protoJson } from '../shared/proto-json.ts';
import type { Material, ReloadingCertificates } from 'twopc/internal/tls/reloading-certificates';
import { loadConsoleAssets } from './console-assets.ts';
import type { ConsoleAssets } from './console-assets.ts';
import { serveApi } from './console-api.ts';
import type { ConsoleApiDeps } from './console-api.ts';
import { httpCall } from './http-call.ts';
import { toHttpError } from './http-status.ts';

/** Where the console listens and how it is secured. */
export interface ConsoleOptions {
  /** host:port. */
  readonly listen: string;
  /**
   * HTTPS with the coordinator's certificate, as its gRPC listener reloads
   * it; with `clientCa`, browsers may sign in with a client certificate.
   */
  readonly tls: { certificates: ReloadingCertificates; clientCa: boolean } | null;
  /**
   * Host names it is served under besides IP literals and `localhost`
   * (lowercase): a request naming any other host is refused (DNS rebinding).
   */
  readonly hosts: readonly string[];
}

/** A running console. */
export interface ConsoleServer {
  /** host:port it listens on. */
  readonly address: string;
  /** http or https. */
  readonly scheme: 'http' | 'https';
  close(): Promise<void>;
}

/** Largest JSON body an action may carry. */
const MAX_BODY_BYTES = 16 * 1024;

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'content-type': type });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(value, protoJson));
}

/** Reads a JSON object body. @throws InvalidArgumentError */
async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (req.method !== 'POST') {
    return {};
  }
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
    throw new InvalidArgumentError('content-type', 'actions take application/json');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new InvalidArgumentError('body', `over ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new InvalidArgumentError('body', 'is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError('body', 'must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/**
 * Whether a request comes from the console's own page: a browser sends
 * Origin (and Sec-Fetch-Site) with every fetch that changes something, so
 * a page elsewhere cannot drive an operator's browser (and its client
 * certificate) into an action.
 */
/**
 * Whether the request names this console in its `Host`: an IP literal (a
 * page can rebind only a name of its own, never an address), `localhost`,
 * or a name the operator listed (--console-hosts). A page whose name was
 * rebound to this machine sends its own name: that is refused before
 * anything is read or done, so neither the page nor the API answers it.
 */
export function hostAllowed(host: string | undefined, names: ReadonlySet<string>): boolean {
  if (host === undefined || host === '') {
    return false;
  }
  if (host.startsWith('[')) {
    return /^\[[0-9A-Fa-f:.]+\](?::\d+)?$/.test(host);
  }
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return isIP(name) !== 0 || name === 'localhost' || names.has(name);
}

function sameOrigin(req: IncomingMessage, scheme: string): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return false;
  }
  const origin = req.headers.origin;
  return origin === undefined || origin === `${scheme}://${req.headers.host ?? ''}`;
}

function serveAsset(
  assets: ConsoleAssets,
  req: IncomingMessage,
  url: URL,
  res: ServerResponse,
): void {
  const asset = req.method === 'GET' ? assets.files.get(url.pathname) : undefined;
  if (asset === undefined) {
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    return;
  }
  res.setHeader('content-security-policy', assets.contentSecurityPolicy);
  send(res, 200, asset.type, asset.body);
}

/** The path below /api/, split and decoded. @throws InvalidArgumentError */
function apiParts(url: URL): string[] {
  try {
    return url.pathname.slice('/api/'.length).split('/').map(decodeURIComponent);
  } catch {
    throw new InvalidArgumentError('path', `'${url.pathname}' is not valid percent-encoding`);
  }
}

function answerApi(
  deps: ConsoleApiDeps,
  req: IncomingMessage,
  url: URL,
  res: ServerResponse,
  log: Logger,
): void {
  readBody(req)
    .then((body) =>
      serveApi(deps, {
        method: req.method ?? 'GET',
        parts: apiParts(url),
        query: url.searchParams,
        body,
        call: httpCall(req),
      }),
    )
    .then(
      (answer) =>
        answer === null
          ? sendJson(res, 404, {
              code: 'TWOPC_NOT_FOUND',
              message: `no API ${req.method} ${url.pathname}`,
            })
          : sendJson(res, 200, answer),
      (err: unknown) => {
        const { status, body } = toHttpError(err);
        if (status === 500) {
          log.error({ err, path: url.pathname }, 'console: unexpected error');
        }
        sendJson(res, status, body);
      },
    );
}

/**
 * Serves the operator console: its page and the JSON API under /api/ (see
 * console-api.ts), over HTTPS when the coordinator has a certificate. Every
 * API call is admitted by the security room as the Operator method it is.
 * @throws ListenError when the address cannot be bound
 */
export async function startConsoleServer(
  options: ConsoleOptions,
  deps: ConsoleApiDeps,
  log: Logger,
): Promise<ConsoleServer> {
  const assets = loadConsoleAssets();
  const scheme = options.tls === null ? 'http' : 'https';
  const names = new Set(options.hosts.map((h) => h.toLowerCase()));
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://console');
    if (scheme === 'https') {
      res.setHeader('strict-transport-security', 'max-age=31536000');
    }
    if (!hostAllowed(req.headers.host, names)) {
      sendJson(res, 421, {
        code: 'TWOPC_PERMISSION_DENIED',
        message: `the console is not served under the name '${String(req.headers.host ?? '').slice(0, 100)}'; list the names operators use with --console-hosts`,
      });
    } else if (!url.pathname.startsWith('/api/')) {
      serveAsset(assets, req, url, res);
    } else if (!sameOrigin(req, scheme)) {
      sendJson(res, 403, {
        code: 'TWOPC_PERMISSION_DENIED',
        message: 'the console API answers its own page only (cross-origin request refused)',
      });
    } else {
      answerApi(deps, req, url, res, log);
    }
  };
  const { server, close } =
    options.tls === null
      ? { server: createHttpServer(handle), close: () => undefined }
      : httpsServer(options.tls, handle);
  const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
  const port = Number(options.listen.slice(options.listen.lastIndexOf(':') + 1));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new ListenError(options.listen, '--console-listen', err)),
      );
      server.listen(port, host.replace(/^\[(.*)\]$/, '$1'), () => resolve());
    });
  } catch (err) {
    close();
    throw err;
  }
  const bound = server.address();
  return {
    address: `${host}:${typeof bound === 'object' && bound !== null ? bound.port : port}`,
    scheme,
    close: async () => {
      close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An HTTPS server whose certificate follows the coordinator's (reloaded from disk). */
function httpsServer(
  tls: NonNullable<ConsoleOptions['tls']>,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): { server: Server; close: () => void } {
  const { certificates } = tls;
  const context = (m: Material) => ({
    cert: m.identity?.certificate,
    key: m.identity?.privateKey,
    ...(m.ca === null ? {} : { ca: m.ca.caCertificate }),
  });
  // A client certificate is asked for, not required: operators may sign in
  // with a token instead. Only certificates that verified are used.
  const server = createHttpsServer(
    { ...context(certificates.current), requestCert: tls.clientCa, rejectUnauthorized: false },
    handle,
  );
  const update = (): void => server.setSecureContext(context(certificates.current));
  certificates.addIdentityCertificateListener(update);
  certificates.addCaCertificateListener(update);
  return {
    server,
    close: () => {
      certificates.removeIdentityCertificateListener(update);
      certificates.removeCaCertificateListener(update);
    },
  };
}
