import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npm run bench -- --quick (so the benchmark never rots)', function () {
  this.timeout(120_000);
  /** Whether a run of this file compiled the bench (and the SDK it runs against). */
  let compiled = false;

  for (const enlist of ['begin', 'calls']) {
    it(`runs the floor and twopc back to back and commits every transaction (--enlist ${enlist})`, async function () {
      await quickRun(enlist);
    });
  }

  async function quickRun(enlist: string): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'twopc-bench-test-'));
    try {
      const out = join(dir, 'quick.json');
      // As a user runs it: compiled, then run (npm run bench); the second
      // run reuses what the first compiled.
      const args = ['--quick', '--inflight', '8', '--enlist', enlist, '--out', out];
      const built = existsSync(join(ROOT, '.bench-build/bench/run.js')) && compiled;
      compiled = true;
      const child = built
        ? spawn(process.execPath, ['.bench-build/bench/run.js', ...args], { cwd: ROOT })
        : spawn('npm', ['run', 'bench', '--', ...args], { cwd: ROOT });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 0, text);
      assert.match(text, /committed transactions\/s\s+\d+\s+\d+\s+[\d.]+/);
      const report = JSON.parse(await readFile(out, 'utf8')) as {
        results: { target: string; committed: number; failed: number }[];
      };
      assert.deepEqual(report.results.map((r) => r.target).sort(), ['batched', 'floor', 'twopc']);
      for (const r of report.results) {
        assert.ok(r.committed > 0, `${r.target} committed nothing`);
        assert.equal(r.failed, 0, `${r.target} had failures`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
});
