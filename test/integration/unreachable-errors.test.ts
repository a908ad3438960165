import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { TwopcClient } from 'twopc';
import { txCli } from '../support/tx-cli.ts';
import { freePort } from '../support/hooks.ts';

// A coordinator that is not there, told the way an operator or an
// application's log needs it: which address, what the socket said, what to
// check; never grpc-js's "Resolution note:" with nothing after it.

const tx = (...args: string[]): Promise<{ code: number; err: string }> => txCli(args);

describe('a coordinator that cannot be reached', function () {
  it('the SDK rejects with UNAVAILABLE naming the address and the socket error', async function () {
    const port = await freePort();
    const client = new TwopcClient(`127.0.0.1:${port}`, { attempts: 1, callTimeoutMs: 3_000 });
    try {
      await assert.rejects(client.begin(), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAVAILABLE);
        assert.match(
          err.details,
          new RegExp(
            `^cannot reach the coordinator at 127\\.0\\.0\\.1:${port} \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\): is it running, and is that its address\\?$`,
          ),
        );
        assert.doesNotMatch(err.message, /Resolution note/);
        return true;
      });
    } finally {
      client.close();
    }
  });

  it('the CLI says where the address came from', async function () {
    const port = await freePort();
    const { code, err } = await tx('list', '--address', `127.0.0.1:${port}`);
    assert.equal(code, 1);
    assert.match(err, /cannot reach the coordinator at 127\.0\.0\.1:\d+ \(connect ECONNREFUSED/);
    assert.match(err, /--address, else TWOPC_ADDRESS, else 127\.0\.0\.1:50051/);
  });

  it('--token-file without TLS is a usage error naming --tls-ca', async function () {
    const { code, err } = await tx('list', '--token-file', '/dev/null');
    assert.equal(code, 2);
    assert.match(err, /--token-file needs TLS .*add --tls-ca/);
    assert.doesNotMatch(err, /credentials option/);
  });
});
