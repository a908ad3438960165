import assert from 'node:assert/strict';
import {
  CREATED_LAYOUT,
  LogLayout,
  forcedLayout,
  layoutAmong,
  readsFolded,
} from '../../src/store/log-layout.ts';

describe('the layout a store creates', function () {
  it('is folded, the default, only while every live coordinator reads it', function () {
    assert.equal(CREATED_LAYOUT, LogLayout.FOLDED);
    assert.equal(layoutAmong([]), LogLayout.FOLDED);
    assert.equal(layoutAmong(['0.3.0-dev.0', '0.2.0']), LogLayout.FOLDED);
    assert.equal(layoutAmong(['0.3.0-dev.0', null]), LogLayout.ROWS);
    assert.equal(layoutAmong(['0.2.0', '0.2.0-dev.0']), LogLayout.ROWS);
  });

  it('counts 0.1.0 (no version), pre-releases of 0.2.0 and anything unparsable as readers of rows only', function () {
    for (const v of [null, '0.1.0', '0.1.9', '0.2.0-dev.0', '0.2.0-rc.1', '', 'v0.2.0', '0.2']) {
      assert.equal(readsFolded(v), false, String(v));
    }
    for (const v of [
      '0.2.0',
      '0.2.1',
      '0.2.0+build.5',
      '0.3.0-dev.0',
      '0.10.0',
      '1.0.0',
      '10.0.0',
    ]) {
      assert.equal(readsFolded(v), true, v);
    }
  });

  it('is forced by the internal setting, and a wrong value there is refused', function () {
    assert.equal(forcedLayout({}), null);
    assert.equal(forcedLayout({ TWOPC_INTERNAL_LOG_LAYOUT: '' }), null);
    assert.equal(forcedLayout({ TWOPC_INTERNAL_LOG_LAYOUT: 'rows' }), LogLayout.ROWS);
    assert.equal(forcedLayout({ TWOPC_INTERNAL_LOG_LAYOUT: 'folded' }), LogLayout.FOLDED);
    assert.throws(
      () => forcedLayout({ TWOPC_INTERNAL_LOG_LAYOUT: 'fold' }),
      /TWOPC_INTERNAL_LOG_LAYOUT must be rows or folded, not 'fold'/,
    );
  });
});
