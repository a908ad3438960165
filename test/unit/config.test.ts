import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('loadConfig()', function () {
  it('has defaults for everything', function () {
    const c = loadConfig([], {});
    assert.equal(c.listen, '127.0.0.1:50051');
    assert.equal(c.databaseUrl, null);
    assert.equal(c.leaseDefaultMs, 60_000);
    assert.equal(c.prepareTimeoutMs, 10_000);
    assert.equal(c.onePhase, true);
    assert.ok(Object.isFrozen(c));
  });

  it('takes flags over environment variables', function () {
    const c = loadConfig(['--listen', '0.0.0.0:7000'], {
      TWOPC_LISTEN: '127.0.0.1:1',
      TWOPC_PREPARE_TIMEOUT_MS: '250',
    });
    assert.equal(c.listen, '0.0.0.0:7000');
    assert.equal(c.prepareTimeoutMs, 250);
  });

  it('names the flag or variable to fix', function () {
    assert.throws(
      () => loadConfig(['--nope'], {}),
      (e: Error) => e instanceof ConfigError && /Unknown option '--nope'/.test(e.message),
    );
    assert.throws(
      () => loadConfig(['--listen', 'localhost:99999'], {}),
      /--listen: 'localhost:99999' is not host:port/,
    );
    assert.throws(
      () => loadConfig([], { TWOPC_PREPARE_TIMEOUT_MS: 'soon' }),
      /TWOPC_PREPARE_TIMEOUT_MS: 'soon' is not a whole number/,
    );
    assert.throws(
      () => loadConfig([], { DATABASE_URL: 'mysql://x' }),
      /DATABASE_URL: 'mysql:\/\/x' is not a postgres:\/\/ URL/,
    );
    assert.throws(
      () => loadConfig([], { TWOPC_LEASE_DEFAULT_MS: '10', TWOPC_LEASE_MAX_MS: '5' }),
      /over the maximum/,
    );
    assert.throws(
      () => loadConfig(['--console-listen', 'nowhere'], {}),
      /--console-listen: 'nowhere' is not host:port/,
    );
    assert.throws(
      () => loadConfig(['--trace-url', 'http://jaeger:16686/trace/'], {}),
      /--trace-url .*with \{traceId\} where the trace id goes/,
    );
  });

  it('serves no console unless asked, and takes its address and trace link', function () {
    assert.equal(loadConfig([], {}).consoleListen, null);
    assert.equal(loadConfig([], { TWOPC_CONSOLE_LISTEN: '' }).consoleListen, null);
    const c = loadConfig(
      ['--console-listen', '127.0.0.1:9465', '--trace-url', 'https://t.example/trace/{traceId}'],
      {},
    );
    assert.equal(c.consoleListen, '127.0.0.1:9465');
    assert.equal(c.traceUrl, 'https://t.example/trace/{traceId}');
  });
});
