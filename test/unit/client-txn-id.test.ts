import assert from 'node:assert/strict';
import {
  isClientTxnId,
  newClientTxnId,
  parseClientTxnId,
} from 'twopc/internal/contract/client-txn-id';
import { parseTxId } from 'twopc/internal/contract/limits';

describe('client-made transaction ids', function () {
  it('are lowercase version-7 UUIDs carrying their time, which every id check takes', function () {
    const at = Date.UTC(2026, 11, 7, 12, 0, 0, 123);
    const id = newClientTxnId(at, Buffer.alloc(10, 0xff));
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), at);
    assert.equal(parseClientTxnId(id), id);
    assert.equal(parseTxId(id), id);
    assert.ok(isClientTxnId(id));
  });

  it('differ from one another, and from the ids a coordinator makes', function () {
    const ids = new Set(Array.from({ length: 1000 }, () => newClientTxnId(0)));
    assert.equal(ids.size, 1000);
    assert.ok(!isClientTxnId('7f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b')); // version 4
    assert.ok(!isClientTxnId('7f1e2d3c-4b5a-8007-8a6b-5c4d3e2f1a0b')); // version 8, shard 7
  });

  it('leaves an empty txn_id to the coordinator, and names the field of a bad one', function () {
    assert.equal(parseClientTxnId(''), null);
    assert.throws(
      () => parseClientTxnId(newClientTxnId().toUpperCase()),
      /^InvalidArgumentError: txn_id: .* lowercase version-7 UUID/,
    );
  });
});
