import assert from 'node:assert/strict';
import { OpenTxLimits, capsWarning } from '../../src/auth/open-tx-limits.ts';
import { LimitExceededError } from 'twopc/internal/contract/errors';
import { FakeClock } from '../../src/time/fake-clock.ts';

/** A log whose counts the test sets; reads resolve on the next microtask. */
class Log {
  rows = new Map<string | null, number>();
  reads = 0;
  async openCount(tenant: string | null): Promise<number> {
    this.reads++;
    return this.rows.get(tenant) ?? 0;
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('OpenTxLimits', function () {
  it('holds a tenant at its cap, counting Begins not yet written', async function () {
    const clock = new FakeClock();
    const log = new Log();
    const limits = new OpenTxLimits({ global: 100, perTenant: 3 }, log, clock);
    const tickets = [limits.admit('a'), limits.admit('a'), limits.admit('a')];
    assert.throws(() => limits.admit('a'), LimitExceededError);
    assert.doesNotThrow(() => limits.admit('b'), 'another tenant is not held');
    await settle(); // the first read (0 rows) lands: the unwritten three still count
    assert.throws(
      () => limits.admit('a'),
      /tenant 'a' has 3 unfinished transactions, the cap is 3/,
    );
    for (const t of tickets) {
      t(true);
    }
    log.rows.set('a', 1); // two of them finished
    clock.advance(1_000);
    // The stale count answers at once; the read it starts frees the places.
    assert.throws(() => limits.admit('a'), LimitExceededError);
    await settle();
    limits.admit('a');
    limits.admit('a');
    assert.throws(() => limits.admit('a'), LimitExceededError);
  });

  it('frees the place of a Begin whose write failed', function () {
    const limits = new OpenTxLimits({ global: 100, perTenant: 1 }, new Log(), new FakeClock());
    limits.admit('a')(false);
    assert.doesNotThrow(() => limits.admit('a'));
  });

  it('applies the global cap across tenants', function () {
    const limits = new OpenTxLimits({ global: 2, perTenant: 10 }, new Log(), new FakeClock());
    limits.admit('a');
    limits.admit('b');
    assert.throws(() => limits.admit('c'), /TWOPC_MAX_OPEN_TRANSACTIONS: 2 unfinished/);
  });
});

describe('capsWarning()', function () {
  it('warns when tenants at their own caps would leave the others nothing, saying what to change', function () {
    const w = capsWarning({ global: 15_000, perTenant: 10_000 }, ['a', 'b', 'c', 'a']);
    assert.match(
      String(w),
      /global cap on open transactions \(15000\) is below 3 tenants × the per-tenant cap \(10000\) = 30000.*raise --max-open-transactions to 30000 or lower --max-open-transactions-per-tenant to 5000/,
    );
  });
  it('is quiet when every tenant at its cap fits, or with one tenant', function () {
    assert.equal(capsWarning({ global: 100_000, perTenant: 10_000 }, ['a', 'b']), null);
    assert.equal(capsWarning({ global: 10, perTenant: 100 }, ['only']), null);
  });
});
