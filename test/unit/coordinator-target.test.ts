import assert from 'node:assert/strict';
import { TwopcClient } from 'twopc';
import { coordinatorTarget } from 'twopc/internal/connection';

describe('coordinatorTarget(): the gRPC target of one or several coordinators', function () {
  it('passes one address through and joins several IPs of one family', function () {
    assert.equal(coordinatorTarget('127.0.0.1:50051'), '127.0.0.1:50051');
    assert.equal(coordinatorTarget(['10.0.0.1:1', '10.0.0.2:1']), 'ipv4:10.0.0.1:1,10.0.0.2:1');
  });

  it('refuses a missing address with a message saying what to give (a JavaScript caller with an unset variable)', function () {
    for (const missing of [undefined, null, '', 42]) {
      assert.throws(
        () => new TwopcClient(missing as unknown as string),
        /no coordinator address \(got .*\): give host:port/,
      );
    }
  });
});
