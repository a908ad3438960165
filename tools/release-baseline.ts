// The proto baseline of `buf breaking` (buf/released.binpb), built from the
// commit of the last release as release/previous.json records it
// (npm run release:baseline; run it when a release is recorded).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The last release, as recorded in the repository. */
export interface Release {
  readonly version: string;
  readonly commit: string;
  readonly date: string;
  readonly proto: string;
}

/** Reads release/previous.json. @throws Error saying what is wrong with it */
export function previousRelease(root = ROOT): Release {
  const r = JSON.parse(readFileSync(join(root, 'release', 'previous.json'), 'utf8')) as Release;
  if (!/^\d+\.\d+\.\d+$/.test(r.version) || !/^[0-9a-f]{40}$/.test(r.commit)) {
    throw new Error('release/previous.json: needs "version" (x.y.z) and "commit" (40 hex digits)');
  }
  return r;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const release = previousRelease();
  execFileSync(
    join(ROOT, 'node_modules', '.bin', 'buf'),
    ['build', `.git#ref=${release.commit}`, '-o', 'buf/released.binpb'],
    { cwd: ROOT, stdio: 'inherit' },
  );
  console.log(`buf/released.binpb: the proto of ${release.version} (${release.commit})`);
}
