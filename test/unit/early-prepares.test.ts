import assert from 'node:assert/strict';
import { KnownParticipants, prepares } from '../../src/coordinator/early-prepares.ts';
import type { TxId } from '../../src/core/tx-record.ts';

describe('early Prepares: who may get a Prepare before a forced write', function () {
  const tx = '0190a000-0000-7000-8000-000000000001' as TxId;
  const a = { name: 'a', endpoint: '127.0.0.1:1' };
  const b = { name: 'b', endpoint: '127.0.0.1:2' };
  const c = { name: 'c', endpoint: '127.0.0.1:3' };

  it('keeps the participants named at Begin apart from those enlisted since', function () {
    const known = new KnownParticipants();
    known.begun(tx, [a, b]);
    known.enlisted(tx, c.name, c.endpoint);
    known.enlisted(tx, c.name, c.endpoint); // a repeat is one participant
    assert.deepEqual(known.take(tx), { named: [a, b], enlisted: [c] });
    assert.equal(known.take(tx), null, 'taken once');
  });

  it('knows nothing of a transaction not begun here', function () {
    const known = new KnownParticipants();
    known.enlisted(tx, c.name, c.endpoint);
    assert.equal(known.take(tx), null);
  });

  it('a lone participant is prepared only where one-phase commit is off', function () {
    assert.equal(prepares(0, true), false);
    assert.equal(prepares(0, false), false);
    assert.equal(prepares(1, true), false);
    assert.equal(prepares(1, false), true);
    assert.equal(prepares(2, true), true);
    assert.equal(prepares(3, false), true);
  });
});
