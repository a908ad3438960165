import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The server package's root directory (the one holding package.json and
 * migrations/), found by walking up from this module: the same answer from
 * src/ through tsx, from dist/, or from any other build layout.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'migrations'))) {
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error('cannot find the twopc-server package root (package.json with migrations/)');
    }
    dir = parent;
  }
  return dir;
}
