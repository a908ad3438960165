import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A port as `config` writes it: long syntax, or `[ip:]published:target[/proto]`. */
type Port =
  { readonly host_ip?: string; readonly published?: number; readonly target: number } | string;

/** `ip:published->target`, 0.0.0.0 when no address is given (every interface). */
function binding(p: Port): string {
  if (typeof p === 'string') {
    const parts = p.replace(/\/\w+$/, '').split(':');
    return parts.length === 3
      ? `${parts[0]}:${parts[1]}->${parts[2]}`
      : `0.0.0.0:${parts.join('->')}`;
  }
  return `${p.host_ip ?? '0.0.0.0'}:${p.published}->${p.target}`;
}

/**
 * The services of a compose file as Debian's docker-compose resolves it
 * (`config`: anchors, merges and short port syntax expanded), read as JSON
 * through python3-yaml, docker-compose's own YAML library.
 */
function services(file: string): Record<string, { ports?: Port[] }> {
  const yaml = execFileSync('docker-compose', ['-f', file, 'config'], { cwd: ROOT });
  const json = execFileSync(
    'python3',
    ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    { input: yaml },
  );
  return (JSON.parse(json.toString()) as { services: Record<string, { ports?: Port[] }> }).services;
}

describe('compose files publish ports on the loopback interface only', function () {
  this.timeout(30_000);
  for (const file of ['docker-compose.yml', 'docker-compose.ha.yml']) {
    it(`${file}: every published port binds 127.0.0.1`, function () {
      const published = Object.entries(services(file)).flatMap(([name, s]) =>
        (s.ports ?? []).map((p) => `${name} ${binding(p)}`),
      );
      assert.ok(published.length > 0, `${file} publishes no port`);
      assert.deepEqual(
        published.filter((p) => !/ 127\.0\.0\.1:/.test(p)),
        [],
        'a port reachable from other machines',
      );
    });
  }
});
