#!/usr/bin/env node
// The installed command runs the compiled entry point. In a checkout (the
// sources are next to it) it runs the TypeScript sources through tsx (a
// development dependency) instead, so `npx twopc …` always runs what the
// checkout holds, never a dist/ left over from an earlier build or pack.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const sources = new URL('../src/main.ts', import.meta.url);
if (existsSync(fileURLToPath(sources))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import(new URL('../dist/main.js', import.meta.url).href);
}
