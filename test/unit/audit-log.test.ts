import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/auth/audit-log.ts';
import type { AuditEntry } from '../../src/auth/audit-log.ts';
import { Role } from '../../src/auth/caller.ts';
import { silentLogger } from '../../src/telemetry/logger.ts';
import { FakeClock } from '../../src/time/fake-clock.ts';

const caller = {
  principal: 'alice-ops',
  tenant: 'default',
  tenantScoped: false,
  roles: new Set([Role.OPERATOR]),
  participant: null,
  via: 'token' as const,
};

const entry = (over: Partial<AuditEntry> = {}): AuditEntry => ({
  method: 'Operator.ListTransactions',
  caller,
  peer: '127.0.0.1:5000',
  txnId: null,
  participant: null,
  result: 'OK',
  detail: null,
  ...over,
});

describe('audit log', function () {
  let dir: string;
  let file: string;
  const lines = (): Record<string, unknown>[] =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'twopc-audit-'));
    file = join(dir, 'audit.log');
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a read repeated unchanged once a minute, with how many it stands for', function () {
    const clock = new FakeClock();
    const audit = new AuditLog(file, silentLogger(), clock);
    for (let i = 0; i < 30; i++) {
      audit.record(entry(), true); // a console refreshing every 2 s
      clock.advance(2_000);
    }
    audit.record(entry(), true);
    const written = lines();
    assert.equal(written.length, 2);
    assert.equal(written[0]?.repeated, undefined);
    assert.equal(written[1]?.repeated, 29);
    assert.equal(written[1]?.principal, 'alice-ops');
  });

  it('writes every action, every refusal, and each different read', function () {
    const clock = new FakeClock();
    const audit = new AuditLog(file, silentLogger(), clock);
    for (let i = 0; i < 3; i++) {
      audit.record(entry({ method: 'Operator.Abort', txnId: 'a' }));
      audit.record(entry({ result: 'TWOPC_PERMISSION_DENIED' }), true);
    }
    audit.record(entry({ method: 'Operator.GetTransaction', txnId: 'a' }), true);
    audit.record(entry({ method: 'Operator.GetTransaction', txnId: 'b' }), true);
    audit.record(entry({ caller: { ...caller, principal: 'bob-ops' } }), true);
    audit.record(entry({ caller: { ...caller, principal: 'bob-ops' } }), true);
    assert.deepEqual(
      lines().map((l) => [l.method, l.result, l.txn_id, l.principal]),
      [
        ['Operator.Abort', 'OK', 'a', 'alice-ops'],
        ['Operator.ListTransactions', 'TWOPC_PERMISSION_DENIED', null, 'alice-ops'],
        ['Operator.Abort', 'OK', 'a', 'alice-ops'],
        ['Operator.ListTransactions', 'TWOPC_PERMISSION_DENIED', null, 'alice-ops'],
        ['Operator.Abort', 'OK', 'a', 'alice-ops'],
        ['Operator.ListTransactions', 'TWOPC_PERMISSION_DENIED', null, 'alice-ops'],
        ['Operator.GetTransaction', 'OK', 'a', 'alice-ops'],
        ['Operator.GetTransaction', 'OK', 'b', 'alice-ops'],
        ['Operator.ListTransactions', 'OK', null, 'bob-ops'],
      ],
    );
  });
});
