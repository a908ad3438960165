#!/usr/bin/env node
// The installed command runs the compiled entry point (npm run build). From a
// checkout that was never built, it runs the TypeScript sources through tsx
// (a development dependency), so `npx twopc …` works the way the README shows.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/main.js', import.meta.url);
if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/main.ts', import.meta.url).href);
}
