import assert from 'node:assert/strict';
import { reasonKind } from '../../src/telemetry/metrics.ts';

describe('reasonKind()', function () {
  it('labels the coordinator’s own reasons and folds anything a client says into CLIENT_ABORT', function () {
    assert.equal(reasonKind('LEASE_EXPIRED'), 'LEASE_EXPIRED');
    assert.equal(reasonKind('LOG_STORE_RESTARTED'), 'LOG_STORE_RESTARTED');
    assert.equal(reasonKind("participant 'a' voted ABORT: no"), 'VOTE_ABORT');
    assert.equal(reasonKind('CUSTOMER_ALICE'), 'CLIENT_ABORT');
    assert.equal(reasonKind('operator says no'), 'CLIENT_ABORT');
    assert.equal(reasonKind(null), 'none');
  });
});
