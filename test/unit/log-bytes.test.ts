import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../../src/auth/audit-log.ts';
import { createLogger, silentLogger } from '../../src/telemetry/logger.ts';
import { FakeClock } from '../../src/time/fake-clock.ts';

/** A participant's or client's words as an attacker writes them. */
const PLANT =
  'no\u001b[2J\u001b]0;title\u0007\rFAKE-COMMITTED\u009b31m\u0085\u202eevil\u2066\u2028';
/** Characters a terminal acts on: C0 but \n, DEL, C1, bidirectional controls, line separators. */
const ACTIVE =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u;

describe('log lines', function () {
  it('hold no character a terminal acts on, and parse back to the exact text', function () {
    let bytes = '';
    const log = createLogger('info', { write: (s: string) => void (bytes += s) });
    log.warn({ participant: 'p', remote: PLANT, err: new Error(PLANT) }, 'prepare failed');
    log.child({ txn_id: 't' }).info({ detail: PLANT }, 'told');
    assert.equal(ACTIVE.exec(bytes)?.[0], undefined, JSON.stringify(bytes));
    const [warn, info] = bytes
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { remote?: string; detail?: string; err?: { message: string } });
    assert.equal(warn?.remote, PLANT);
    assert.equal(warn?.err?.message, PLANT);
    assert.equal(info?.detail, PLANT);
  });

  it('of the audit file too', function () {
    const dir = mkdtempSync(join(tmpdir(), 'twopc-audit-'));
    try {
      const file = join(dir, 'audit.log');
      new AuditLog(file, silentLogger(), new FakeClock()).record({
        method: 'Operator.ResolveParticipant',
        caller: null,
        peer: '127.0.0.1:1',
        txnId: null,
        participant: 'p',
        result: 'OK',
        detail: PLANT,
      });
      const bytes = readFileSync(file, 'utf8');
      assert.equal(ACTIVE.exec(bytes)?.[0], undefined, JSON.stringify(bytes));
      assert.equal((JSON.parse(bytes) as { detail: string }).detail, PLANT);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
