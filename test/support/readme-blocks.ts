import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A fenced code block of a Markdown file: its language, its name (if any), its text. */
export interface CodeBlock {
  readonly file: string;
  readonly line: number;
  readonly lang: string;
  /** The second word of the info string: a file name, or `fragment`. */
  readonly tag: string;
  readonly text: string;
}

/** The fenced code blocks of a Markdown file of the repository. */
export function codeBlocks(path: string): CodeBlock[] {
  const lines = readFileSync(fileURLToPath(new URL(path, `file://${ROOT}`)), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(\S*)\s*(\S*)/.exec(lines[i] ?? '');
    if (open === null) {
      continue;
    }
    const fence = open[1] ?? '```';
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !(lines[i] ?? '').startsWith(fence); i++) {
      body.push(lines[i] ?? '');
    }
    blocks.push({
      file: path,
      line: start + 1,
      lang: open[2] ?? '',
      tag: open[3] ?? '',
      text: body.join('\n') + '\n',
    });
  }
  return blocks;
}

/** A page's named blocks (```ts client.ts): what an application copies as whole files. */
export function namedFiles(path: string): Map<string, string> {
  return new Map(
    codeBlocks(path)
      .filter((b) => b.tag !== '' && b.tag !== 'fragment')
      .map((b) => [b.tag, b.text]),
  );
}

/** The README's named blocks. */
export function readmeFiles(): Map<string, string> {
  return namedFiles('README.md');
}
