import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory holding twopc/v1/*.proto, found by walking up from this
 * module: the SDK package's own proto/ once packed or installed, the
 * repository's proto/ in a checkout (through tsx or from dist/).
 */
export function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'twopc', 'v1', 'coordinator.proto'))) {
      return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error('cannot find the twopc proto files (proto/twopc/v1/*.proto)');
    }
    dir = parent;
  }
}
