import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { packageRoot } from '../package-root.ts';

/** A file the console serves. */
export interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/** The console's files, and the Content-Security-Policy its page needs. */
export interface ConsoleAssets {
  readonly files: ReadonlyMap<string, Asset>;
  readonly contentSecurityPolicy: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Modules the page imports by name, and where they come from (the packages' own ES builds). */
const VENDOR: Record<string, { path: string; file: (resolve: (m: string) => string) => string }> = {
  preact: { path: '/vendor/preact.mjs', file: (r) => r('preact') },
  'preact/hooks': { path: '/vendor/preact-hooks.mjs', file: (r) => r('preact/hooks') },
  // htm's exports give require() its CommonJS build; the ES module lies beside it.
  htm: { path: '/vendor/htm.mjs', file: (r) => join(dirname(r('htm')), 'htm.mjs') },
};

const OWN = [
  'app.js',
  'ui/shared.js',
  'ui/list.js',
  'ui/detail.js',
  'ui/printable.js',
  'style.css',
  'favicon.svg',
];

function typeOf(path: string): string {
  return TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream';
}

/**
 * Loads the console once: its page (console/index.html, with the import
 * map naming Preact, its hooks and htm filled in), its script and style,
 * and the three vendor modules from their packages. Nothing is built or
 * bundled, and the page may run no script but these: the import map is
 * allowed by its hash.
 */
export function loadConsoleAssets(): ConsoleAssets {
  const root = join(packageRoot(), 'console');
  const files = new Map<string, Asset>();
  for (const name of OWN) {
    files.set(`/${name}`, { type: typeOf(name), body: readFileSync(join(root, name)) });
  }
  const require = createRequire(import.meta.url);
  for (const { path, file } of Object.values(VENDOR)) {
    files.set(path, { type: typeOf(path), body: readFileSync(file(require.resolve)) });
  }
  const importMap = JSON.stringify({
    imports: Object.fromEntries(Object.entries(VENDOR).map(([name, v]) => [name, v.path])),
  });
  const page = readFileSync(join(root, 'index.html'), 'utf8').replace(
    '<script type="importmap"></script>',
    `<script type="importmap">${importMap}</script>`,
  );
  const hash = createHash('sha256').update(importMap).digest('base64');
  const html: Asset = { type: typeOf('.html'), body: Buffer.from(page) };
  files.set('/', html);
  files.set('/index.html', html);
  return {
    files,
    contentSecurityPolicy: [
      "default-src 'none'",
      `script-src 'self' 'sha256-${hash}'`,
      "style-src 'self'",
      "connect-src 'self'",
      "img-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
  };
}
