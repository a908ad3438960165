import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import {
  parseEndpoint,
  parseLabels,
  parseName,
  parseTxId,
  truncateReason,
} from '../../src/core/limits.ts';

describe('request validation', function () {
  it('accepts host:port endpoints of names, IPv4 and IPv6', function () {
    for (const ok of [
      'localhost:50051',
      '127.0.0.1:1',
      'svc.ns.cluster.local:65535',
      '[::1]:8080',
    ]) {
      assert.equal(parseEndpoint(ok), ok);
    }
  });

  it('rejects malformed endpoints', function () {
    for (const bad of [
      '',
      'localhost',
      ':80',
      'host:',
      'host:65536',
      'host:0',
      'ho st:1',
      'http://h:1',
      'h:1a',
    ]) {
      assert.throws(() => parseEndpoint(bad), InvalidArgumentError, bad);
    }
  });

  it('accepts names of [A-Za-z0-9._-] up to 64 characters', function () {
    assert.equal(parseName('inventory-db_1.eu'), 'inventory-db_1.eu');
    assert.throws(() => parseName('-lead'), /must start with a letter or digit/);
    assert.throws(() => parseName("x'; drop"), /may hold only/);
    assert.throws(() => parseName('x'.repeat(65)), /limit is 64/);
  });

  it('normalizes transaction ids to lowercase and rejects anything else', function () {
    assert.equal(
      parseTxId('ABCDEF01-2345-4678-89AB-CDEF01234567'),
      'abcdef01-2345-4678-89ab-cdef01234567',
    );
    assert.throws(() => parseTxId('abcdef01-2345-4678-89ab-cdef0123456'), /not a transaction id/);
  });

  it('limits labels', function () {
    assert.deepEqual(parseLabels({ a: 'b' }), { a: 'b' });
    assert.throws(() => parseLabels({ '': 'b' }), /key/);
  });

  it('truncates long participant reasons', function () {
    assert.equal(truncateReason('r'.repeat(1000)).length, 512);
  });
});
