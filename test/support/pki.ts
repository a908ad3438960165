import { mkdtempSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

export { DevCa as TestCa } from '../../examples/dev-pki.ts';
export type { CertFiles, LeafOptions } from '../../examples/dev-pki.ts';

/**
 * A certificate directory rotated the way Kubernetes rotates secrets: the
 * files are read through a `current` symlink that is swapped atomically.
 */
export class RotatingDir {
  readonly current: string;
  readonly #root: string;
  #generation = 0;

  constructor(root: string) {
    this.#root = root;
    this.current = join(root, 'current');
  }

  /** Writes a new generation (through `write`) and points `current` at it. */
  async rotate(write: (dir: string) => Promise<void>): Promise<void> {
    const target = mkdtempSync(join(this.#root, `gen-${++this.#generation}-`));
    await write(target);
    const tmp = join(this.#root, `.current-${this.#generation}`);
    symlinkSync(target, tmp);
    renameSync(tmp, this.current);
  }
}
