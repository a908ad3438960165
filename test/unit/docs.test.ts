import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeBlocks } from '../support/readme-blocks.ts';

// The README is a landing page and docs/ the reference: every link lands on
// a file and a heading that exist, and every TypeScript or JavaScript block
// either runs in CI (a named file: test/packages compiles and runs it) or
// says it is a fragment.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGES = [
  'README.md',
  'SECURITY.md',
  'packages/sdk/README.md',
  ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`),
];
const CODE = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs', 'cjs']);
/** Named blocks, by page, each compiled and run by test/packages/packages.test.ts. */
const RUN_BY_PACKAGES_TEST: Record<string, string[]> = {
  'README.md': ['client.ts', 'participant.ts'],
  'docs/sdk.md': ['checkout.ts', 'inventory-service.ts'],
};

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

function anchors(page: string): Set<string> {
  const text = readFileSync(join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.*)$/gm)].map((m) => slug(m[1] ?? '')));
}

describe('the README and docs/', function () {
  it('every relative link lands on a file, and every #anchor on a heading of it', function () {
    const broken: string[] = [];
    for (const page of PAGES) {
      const text = readFileSync(join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1] ?? '';
        if (/^(https?:|mailto:)/.test(target)) {
          continue;
        }
        const [path = '', anchor] = target.split('#');
        const file = path === '' ? page : normalize(join(dirname(page), path));
        if (!existsSync(join(ROOT, file))) {
          broken.push(`${page}: ${target} (no ${file})`);
        } else if (anchor !== undefined && file.endsWith('.md') && !anchors(file).has(anchor)) {
          broken.push(`${page}: ${target} (no heading #${anchor} in ${file})`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it('every TypeScript or JavaScript block runs in CI or is marked a fragment', function () {
    const unmarked: string[] = [];
    for (const page of PAGES) {
      for (const b of codeBlocks(page)) {
        if (!CODE.has(b.lang) || b.tag === 'fragment') {
          continue;
        }
        if (!(RUN_BY_PACKAGES_TEST[page] ?? []).includes(b.tag)) {
          unmarked.push(`${page}:${b.line} (${b.lang} ${b.tag})`);
        }
      }
    }
    assert.deepEqual(unmarked, []);
    for (const [page, files] of Object.entries(RUN_BY_PACKAGES_TEST)) {
      const named = codeBlocks(page)
        .filter((b) => CODE.has(b.lang) && b.tag !== 'fragment')
        .map((b) => b.tag)
        .sort();
      assert.deepEqual(named, files, page);
    }
  });

  it('the README is a landing page: short, opening with how to use it from an application, pointing at every page of docs/', function () {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.ok(readme.split('\n').length < 300, 'the README grew past a landing page');
    const sections = [...readme.matchAll(/^## (.*)$/gm)].map((m) => m[1]);
    assert.equal(sections[0], 'Use it from your application');
    for (const page of PAGES.filter((p) => p.startsWith('docs/'))) {
      assert.ok(readme.includes(`](${page})`), `the README does not point at ${page}`);
    }
  });
});
