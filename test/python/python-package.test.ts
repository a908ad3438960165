import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkBank, notPassed } from '../support/conformance-bank.ts';
import { PYTHON } from '../../examples/python-inventory.ts';
import { createBanks } from '../support/bank.ts';
import { startCoordinator } from '../support/coordinator-harness.ts';
import type { Harness } from '../support/coordinator-harness.ts';
import { migratedSchema } from '../support/db.ts';
import { PythonBank } from './python-bank.ts';

const PACKAGE = fileURLToPath(new URL('../../python/', import.meta.url));

/** Runs a command to its end; its output is returned whatever the exit code. */
function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: PACKAGE, env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

describe('the Python package (python/)', function () {
  this.timeout(300_000);

  it('passes its pytest suite: unit tests, a real coordinator and a real PostgreSQL, started by the tests', async function () {
    const { code, out } = await run(PYTHON, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider'], {
      PYTHONPATH: 'src',
      PYTHONDONTWRITEBYTECODE: '1',
    });
    assert.equal(code, 0, out);
    assert.match(out, /\d+ passed/);
    assert.doesNotMatch(out, /failed|error/i, out);
  });

  describe('the conformance kit against its PostgreSQL resource manager behind its participant helper', function () {
    let h: Harness;
    before(async function () {
      h = await startCoordinator(await migratedSchema(import.meta.url));
    });
    after(async function () {
      await h.stop();
    });

    for (const kind of ['threads', 'aio'] as const) {
      it(`${kind === 'aio' ? 'grpc.aio' : 'grpc threads'}: every check passes, prepared work surviving a SIGKILL of the Python process`, async function () {
        const [db] = await createBanks(`twopc_py_conformance_${kind}`, 1);
        assert.ok(db !== undefined);
        const bank = new PythonBank(`bank-py-${kind}`, db.url, kind === 'aio');
        try {
          await bank.start(h.app.address);
          const results = await checkBank({
            client: h.client,
            coordinator: h.app.address,
            bank,
            kill: () => bank.kill('SIGKILL'),
            delta: 1,
          });
          assert.deepEqual(notPassed(results), []);
          assert.ok(results.some((r) => r.check === 'the batched channel, when offered'));
          const { rows } = await db.pool.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM pg_prepared_xacts WHERE database = current_database()',
          );
          assert.equal(rows[0]?.n, 0, 'a branch was left prepared');
        } finally {
          await bank.close();
          await db.close();
        }
      });
    }
  });
});
