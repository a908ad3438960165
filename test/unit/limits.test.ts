import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'twopc/internal/contract/errors';
import {
  parseEndpoint,
  parseLabels,
  parseName,
  parseReason,
  parseText,
  parseTxId,
  storableText,
  truncateReason,
} from 'twopc/internal/contract/limits';
import { isDataError, classifyStoreError } from '../../src/store/pg-errors.ts';
import { StoreRefusedDataError, StoreUnavailableError } from 'twopc/internal/contract/errors';

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

describe('text the log cannot hold (DESIGN §3 rule 14)', function () {
  const unstorable: [string, string][] = [
    ['U+0000', 'a\u0000b'],
    ['a lone high surrogate', 'a\uD800b'],
    ['a lone high surrogate at the end', 'ab\uDBFF'],
    ['a lone low surrogate', '\uDC00ab'],
    ['two high surrogates', '\uD800\uD800\uDC00'],
  ];
  for (const [what, value] of unstorable) {
    it(`refuses client text holding ${what}, naming the field`, function () {
      assert.throws(
        () => parseText(value, 'reason'),
        (err: unknown) =>
          err instanceof InvalidArgumentError &&
          err.field === 'reason' &&
          /cannot store/.test(err.message),
      );
      assert.throws(() => parseReason(value, 'note'), /note: holds/);
      assert.throws(() => parseLabels({ k: value }), /labels\[k\]: holds/);
    });
    it(`makes participant text holding ${what} storable`, function () {
      assert.doesNotThrow(() => parseText(storableText(value), 'x'));
      assert.doesNotThrow(() => parseText(truncateReason(value), 'x'));
    });
  }
  it('accepts any valid text, astral characters included, unchanged', function () {
    for (const ok of ['', 'plain', 'naïve — ünïcode', 'emoji \u{1F600} pair', '\uD83D\uDE00']) {
      assert.equal(parseText(ok, 'x'), ok);
      assert.equal(storableText(ok), ok);
    }
  });
  it('escapes NUL visibly and replaces a lone surrogate with U+FFFD', function () {
    assert.equal(storableText('ok\u0000'), 'ok\\u0000');
    assert.equal(storableText('a\uD800b'), 'a\uFFFDb');
  });
  it('keeps a truncated participant reason within the limit after escaping', function () {
    const long = '\u0000'.repeat(600);
    assert.ok(truncateReason(long).length <= 512);
  });
  it('classifies a write refused for its data apart from an unreachable store', function () {
    const pgError = (code: string): Error =>
      Object.assign(new Error(`pg ${code}`), { code, severity: 'ERROR' });
    for (const code of ['22021', '22P02', '23502', '23514', '54000']) {
      assert.ok(isDataError(pgError(code)), code);
      assert.ok(classifyStoreError(pgError(code)) instanceof StoreRefusedDataError, code);
    }
    assert.equal(
      isDataError(pgError('23505')),
      false,
      'a unique violation is handled by the store',
    );
    assert.ok(classifyStoreError(pgError('08006')) instanceof StoreUnavailableError);
  });

  it('classifies "not a writable primary right now" as the store being away, and only that', function () {
    const pgError = (code: string, routine = 'x'): Error =>
      Object.assign(new Error(`pg ${code}`), { code, routine, severity: 'ERROR' });
    // A standby in recovery, read-only, admin shutdown, crash shutdown, cannot connect now.
    for (const err of [
      pgError('0A000', 'get_relation_info'),
      pgError('25006'),
      pgError('57P01'),
      pgError('57P02'),
      pgError('57P03'),
    ]) {
      assert.ok(classifyStoreError(err) instanceof StoreUnavailableError, err.message);
    }
    // Another 0A000 ("cached plan must not change result type") repeats on a retry.
    const other = pgError('0A000', 'RevalidateCachedQuery');
    assert.equal(classifyStoreError(other), other);
  });
});
