import assert from 'node:assert/strict';
import { answerMarginMs } from '../../src/grpc/secure-unary.ts';

describe('answerMarginMs()', function () {
  it('answers a tenth of the time left early, between 100 ms and 2 s', function () {
    assert.equal(answerMarginMs(500), 100);
    assert.equal(answerMarginMs(5_000), 500);
    assert.equal(answerMarginMs(12_000), 1_200);
    assert.equal(answerMarginMs(60_000), 2_000);
  });
});
