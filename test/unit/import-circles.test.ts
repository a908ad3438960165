import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every .ts file under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** A file's relative imports and re-exports, type-only ones included (they are arrows too). */
function localImports(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, false);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => resolve(dirname(file), spec));
}

/** The first circle found in the graph, as a path of files, or null. */
function findCircle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): string[] | null => {
    if (state.get(file) === 'done') {
      return null;
    }
    if (state.get(file) === 'open') {
      return [...path.slice(path.indexOf(file)), file];
    }
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const circle = visit(next);
      if (circle !== null) {
        return circle;
      }
    }
    path.pop();
    state.set(file, 'done');
    return null;
  };
  for (const file of graph.keys()) {
    const circle = visit(file);
    if (circle !== null) {
      return circle;
    }
  }
  return null;
}

describe('the layering of src/ and the SDK', function () {
  it('has no two files importing each other, directly or round a circle, type imports included', function () {
    const files = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'packages/sdk/src'))];
    const graph = new Map(files.map((f) => [f, localImports(f)] as const));
    const circle = findCircle(graph);
    assert.equal(
      circle === null ? null : circle.map((f) => relative(ROOT, f)).join(' → '),
      null,
      'a file sits above everything it imports',
    );
  });
});
