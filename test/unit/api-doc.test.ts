import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, currentReference, withReference } from '../../tools/api-doc.ts';

/** Table cells and rules as Prettier may pad them, compared without the padding. */
const normal = (s: string): string =>
  s
    .replace(/[ \t]*\|[ \t]*/g, '|')
    .replace(/-{3,}/g, '---')
    .replace(/\n{2,}/g, '\n')
    .trim();

describe('the API reference (docs/api.md)', function () {
  it('is what the proto comments say (npm run docs:api regenerates it)', function () {
    const readme = readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8');
    assert.equal(
      normal(withReference(readme, currentReference())),
      normal(readme),
      'docs/api.md is behind the proto comments: run npm run docs:api',
    );
    for (const method of ['Begin', 'ResolveParticipant', 'Exchange']) {
      assert.match(readme, new RegExp(`\\| \`${method}\` \\|`));
    }
  });
});
