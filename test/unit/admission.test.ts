import assert from 'node:assert/strict';
import { StoreBusyError } from 'twopc/internal/contract/errors';
import { StoreAdmission } from '../../src/store/admission.ts';
import { FakeClock } from '../../src/time/fake-clock.ts';

/** A promise and its resolver. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('StoreAdmission: new work against a slow log', function () {
  it('admits work while the log keeps up', async function () {
    const admission = new StoreAdmission(new FakeClock(), { maxPending: 2, stallMs: 1_000 });
    assert.equal(await admission.admit(async () => 'done'), 'done');
    assert.equal(admission.pending, 0);
  });

  it('refuses new work once maxPending operations wait, and admits again when they finish', async function () {
    const admission = new StoreAdmission(new FakeClock(), { maxPending: 2, stallMs: 1_000 });
    const g = gate();
    const waiting = [admission.admit(() => g.promise), admission.admit(() => g.promise)];
    await assert.rejects(
      admission.admit(async () => 'x'),
      (err: unknown) => {
        assert.ok(err instanceof StoreBusyError);
        assert.equal(err.retryAfterMs, 1_000);
        assert.match(err.message, /2 operations already wait/);
        return true;
      },
    );
    g.open();
    await Promise.all(waiting);
    assert.equal(await admission.admit(async () => 'x'), 'x');
    assert.equal(admission.refused, 1);
  });

  it('refuses new work while the oldest waiting operation is older than stallMs', async function () {
    const clock = new FakeClock();
    const admission = new StoreAdmission(clock, { maxPending: 100, stallMs: 1_000 });
    const g = gate();
    const stuck = admission.admit(() => g.promise);
    clock.advance(999);
    const g2 = gate();
    const second = admission.admit(() => g2.promise);
    clock.advance(2);
    await assert.rejects(
      admission.admit(async () => 'x'),
      /has not answered for 1001 ms/,
    );
    g.open();
    await stuck;
    // The oldest now waiting started 2 ms ago: admitted again.
    assert.equal(await admission.admit(async () => 'y'), 'y');
    g2.open();
    await second;
  });

  it('frees its slot when the work fails', async function () {
    const admission = new StoreAdmission(new FakeClock(), { maxPending: 1, stallMs: 1_000 });
    await assert.rejects(
      admission.admit(async () => {
        throw new Error('store down');
      }),
      /store down/,
    );
    assert.equal(await admission.admit(async () => 'ok'), 'ok');
  });
});
