import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './hooks.ts';

/** Runs `npm run demo`'s script with extra arguments and environment; its exit code and output. */
export async function runDemo(
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts', ...args], {
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    env: { ...process.env, TWOPC_EMBEDDED_PG_PORT: String(await freePort()), ...env },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, out };
}

/** The demo's two transactions and the ledgers after them, from fresh ledgers. */
export function assertDemoOutcomes(out: string): void {
  assert.match(out, /buy 2 widgets for 30: COMMITTED/);
  assert.match(
    out,
    /buy 100 widgets for 10: ABORTED \(participant 'inventory' voted ABORT: only 3 units of 'widget' available, 100 asked\)/,
  );
  assert.match(
    out,
    /after: {2}accounts \{"alice":70,"bob":50\}, inventory \{"gadget":2,"widget":3\}/,
  );
}
