import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SDK = join(ROOT, 'packages/sdk');

/** A package name from an import specifier (`@scope/name/x` → `@scope/name`). */
function packageOf(spec: string): string {
  const parts = spec.split('/');
  return (spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]) ?? spec;
}

/** Every module the entries reach through their static imports: local files and packages. */
function importGraph(
  entries: string[],
  runtimeOnly: boolean,
): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) {
      return;
    }
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
      const spec = m[1] ?? '';
      if (runtimeOnly && /^(?:import|export)\s+type\s/.test(m[0])) {
        continue; // erased at run time
      }
      if (spec.startsWith('.')) {
        visit(resolve(dirname(file), spec));
      } else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) {
        packages.add(packageOf(spec));
      }
    }
  };
  for (const entry of entries) {
    visit(join(ROOT, entry));
  }
  return { files, packages };
}

function allSources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

describe('the packages', function () {
  const sdkPackage = JSON.parse(readFileSync(join(SDK, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional?: boolean }>;
  };

  it('the SDK (twopc) depends on grpc-js, proto-loader, the OpenTelemetry API and gRPC health only', function () {
    assert.deepEqual(Object.keys(sdkPackage.dependencies).sort(), [
      '@grpc/grpc-js',
      '@grpc/proto-loader',
      '@opentelemetry/api',
      'grpc-health-check',
    ]);
    assert.deepEqual(Object.keys(sdkPackage.peerDependencies).sort(), ['mysql2', 'pg']);
    assert.equal(sdkPackage.peerDependenciesMeta.pg?.optional, true);
    assert.equal(sdkPackage.peerDependenciesMeta.mysql2?.optional, true);
  });

  it('every file of the SDK stays inside it and imports only what it declares', function () {
    const declared = new Set([
      ...Object.keys(sdkPackage.dependencies),
      ...Object.keys(sdkPackage.peerDependencies),
    ]);
    const { files, packages } = importGraph(
      allSources(join(SDK, 'src')).map((f) => relative(ROOT, f)),
      false,
    );
    const outside = [...files].filter((f) => !f.startsWith(join(SDK, 'src')));
    assert.deepEqual(outside, [], 'the SDK imports files outside packages/sdk/src');
    assert.deepEqual(
      [...packages].filter((p) => !declared.has(p)),
      [],
      'the SDK imports packages it does not declare',
    );
  });

  it("the SDK's main entry never loads pg (twopc/pg does)", function () {
    assert.ok(!importGraph(['packages/sdk/src/index.ts'], false).packages.has('pg'));
    assert.ok(importGraph(['packages/sdk/src/pg.ts'], false).packages.has('pg'));
  });

  it("the SDK's main entry never loads mysql2, nor does twopc/pg (twopc/mysql does)", function () {
    // Type imports included: the main entry's types never mention mysql2 either.
    assert.ok(!importGraph(['packages/sdk/src/index.ts'], false).packages.has('mysql2'));
    assert.ok(!importGraph(['packages/sdk/src/pg.ts'], false).packages.has('mysql2'));
    assert.ok(!importGraph(['packages/sdk/src/mysql.ts'], false).packages.has('pg'));
    assert.ok(importGraph(['packages/sdk/src/mysql.ts'], false).packages.has('mysql2'));
  });

  it('the server (twopc-server) has the coordinator and reaches the SDK through its package', function () {
    const { files, packages } = importGraph(['src/server.ts', 'src/main.ts'], true);
    assert.ok([...files].some((f) => f.endsWith('src/app.ts')));
    assert.ok(packages.has('twopc'));
    assert.deepEqual(
      [...files].filter((f) => f.startsWith(SDK)),
      [],
      'the server imports SDK files by path',
    );
  });
});
