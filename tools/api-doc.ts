// The API reference (docs/api.md), generated from the proto files' comments
// (npm run docs:api rewrites it; a unit test checks it is up to date).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const PROTOS = ['proto/twopc/v1/coordinator.proto', 'proto/twopc/v1/participant.proto'];
const BEGIN = '<!-- api:begin (generated from the proto comments by npm run docs:api) -->';
const END = '<!-- api:end -->';

/** The `//` comment lines just above line `i`, joined. */
function commentAbove(lines: readonly string[], i: number): string {
  const parts: string[] = [];
  for (let j = i - 1; j >= 0 && /^\s*\/\//.test(lines[j] ?? ''); j--) {
    parts.unshift((lines[j] ?? '').replace(/^\s*\/\/\s?/, '').trim());
  }
  return parts.join(' ').replace(/\|/g, '\\|');
}

/** Markdown: each service with its comment, and a table of its methods. */
export function apiReference(protoTexts: readonly string[]): string {
  const out: string[] = [];
  for (const text of protoTexts) {
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      const service = /^service (\w+) \{/.exec(line);
      if (service !== null) {
        out.push(`**\`twopc.v1.${service[1]}\`**: ${commentAbove(lines, i)}`, '');
        out.push('| method | request → response | what it does |', '|---|---|---|');
      }
      const rpc = /^\s+rpc (\w+)\((stream )?(\w+)\) returns \((stream )?(\w+)\);/.exec(line);
      if (rpc !== null) {
        const [, name, inStream, req, outStream, res] = rpc;
        out.push(
          `| \`${name}\` | ${inStream ?? ''}\`${req}\` → ${outStream ?? ''}\`${res}\` | ${commentAbove(lines, i)} |`,
        );
      }
      if (/^\}/.test(line) && out.at(-1)?.startsWith('|') === true) {
        out.push('');
      }
    });
  }
  return out.join('\n').trim();
}

/** docs/api.md with its API section replaced by `reference`. */
export function withReference(readme: string, reference: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) {
    throw new Error(`docs/api.md has no ${BEGIN} … ${END} section`);
  }
  return `${readme.slice(0, start + BEGIN.length)}\n\n${reference}\n\n${readme.slice(end)}`;
}

export function currentReference(): string {
  return apiReference(PROTOS.map((p) => readFileSync(join(ROOT, p), 'utf8')));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = join(ROOT, 'docs', 'api.md');
  writeFileSync(file, withReference(readFileSync(file, 'utf8'), currentReference()));
}
