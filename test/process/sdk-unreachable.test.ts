import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { runTwopc } from '../support/child.ts';
import { freePort } from '../support/hooks.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs the SDK child to its end: exit code and what it printed. */
function sdkCall(address: string, attempts: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/sdk-call-child.ts', address, String(attempts)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

describe('the SDK and the CLI against a coordinator that is down', function () {
  this.timeout(60_000);

  it('rejects the awaited call with UNAVAILABLE once its retries are spent, instead of letting the process exit silently', async function () {
    const address = `127.0.0.1:${await freePort()}`;
    const { code, out } = await sdkCall(address, 4);
    const line = out.trim().split('\n').pop() ?? '';
    assert.equal(code, 3, `the process ended (code ${code}) without the call's answer:\n${out}`);
    const answer = JSON.parse(line) as { rejected: number; message: string };
    assert.equal(answer.rejected, grpc.status.UNAVAILABLE);
    assert.match(answer.message, /ECONNREFUSED|No connection established/);
  });

  it('twopc tx list says why and exits non-zero', async function () {
    const address = `127.0.0.1:${await freePort()}`;
    const { code, output } = await runTwopc(['tx', 'list', '--address', address]);
    assert.equal(code, 1, output);
    assert.match(output, /^twopc: .*(ECONNREFUSED|No connection established).*UNAVAILABLE/m);
  });
});
