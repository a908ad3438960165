import assert from 'node:assert/strict';
import { EVENTS } from '../support/tx-events.ts';
import { decide, outcomeOf, pendingPhaseTwo } from '../../src/core/decide.ts';
import type { TxRecord } from '../../src/core/tx-record.ts';
import { newParticipant } from '../../src/core/tx-record.ts';
import type { TxId } from '../../src/core/tx-record.ts';
import type { TxEventType } from '../../src/core/tx-event.ts';
import { TX_EVENT_TYPES } from '../../src/core/tx-event.ts';
import { TX_STATES } from 'twopc/internal/contract/tx-state';
import type { TxState } from 'twopc/internal/contract/tx-state';

const ID = '11111111-1111-4111-8111-111111111111' as TxId;

function tx(state: TxState, patch: Partial<TxRecord> = {}): TxRecord {
  return {
    txnId: ID,
    state,
    reason: null,
    onePhase: false,
    participants: [newParticipant('a', 'h:1'), newParticipant('b', 'h:2')],
    ...patch,
  };
}

/** Records in each state as the protocol produces them. */
const AT: Record<TxState, TxRecord> = {
  ACTIVE: tx('ACTIVE'),
  PREPARING: tx('PREPARING'),
  COMMITTING: tx('COMMITTING', {
    participants: [
      { ...newParticipant('a', 'h:1'), vote: 'PREPARED' },
      { ...newParticipant('b', 'h:2'), vote: 'PREPARED' },
    ],
  }),
  ABORTING: tx('ABORTING', { reason: 'x' }),
  COMMITTED: tx('COMMITTED'),
  ABORTED: tx('ABORTED', { reason: 'x' }),
};

/**
 * Every (state, event) pair: the expected next state, '=' for "allowed, no
 * change", or 'invalid'. An unlisted pair fails the test.
 */
const TABLE: Record<TxState, Record<TxEventType, TxState | '=' | 'invalid'>> = {
  ACTIVE: {
    'commit:requested': 'PREPARING',
    'abort:requested': 'ABORTING',
    'vote:received': 'invalid',
    'prepare:failed': 'invalid',
    'onephase:answered': 'invalid',
    'onephase:unsent': 'invalid',
    'ack:received': 'invalid',
    'abort:undeliverable': 'invalid',
    'lease:expired': 'ABORTING',
    'tx:recovered': '=',
  },
  PREPARING: {
    'commit:requested': '=',
    'abort:requested': 'ABORTING',
    'vote:received': '=',
    'prepare:failed': 'ABORTING',
    'onephase:answered': 'invalid',
    'onephase:unsent': 'invalid',
    'ack:received': 'invalid',
    'abort:undeliverable': 'invalid',
    'lease:expired': 'invalid',
    'tx:recovered': 'ABORTING',
  },
  COMMITTING: {
    'commit:requested': '=',
    'abort:requested': 'invalid',
    'vote:received': '=',
    'prepare:failed': '=',
    'onephase:answered': '=',
    'onephase:unsent': '=',
    'ack:received': '=',
    'abort:undeliverable': 'invalid',
    'lease:expired': '=',
    'tx:recovered': '=',
  },
  ABORTING: {
    'commit:requested': '=',
    'abort:requested': '=',
    'vote:received': '=',
    'prepare:failed': '=',
    'onephase:answered': '=',
    'onephase:unsent': '=',
    'ack:received': '=',
    'abort:undeliverable': 'ABORTING',
    'lease:expired': '=',
    'tx:recovered': '=',
  },
  COMMITTED: {
    'commit:requested': '=',
    'abort:requested': 'invalid',
    'vote:received': '=',
    'prepare:failed': '=',
    'onephase:answered': 'invalid',
    'onephase:unsent': 'invalid',
    'ack:received': '=',
    'abort:undeliverable': '=',
    'lease:expired': '=',
    'tx:recovered': '=',
  },
  ABORTED: {
    'commit:requested': '=',
    'abort:requested': '=',
    'vote:received': '=',
    'prepare:failed': '=',
    'onephase:answered': 'invalid',
    'onephase:unsent': 'invalid',
    'ack:received': '=',
    'abort:undeliverable': '=',
    'lease:expired': '=',
    'tx:recovered': '=',
  },
};

describe('decide()', function () {
  describe('every state × event', function () {
    for (const state of TX_STATES) {
      for (const type of TX_EVENT_TYPES) {
        const expected = TABLE[state][type];
        it(`${state} + ${type} → ${expected}`, function () {
          const d = decide(AT[state], EVENTS[type]);
          if (expected === 'invalid') {
            assert.equal(d.ok, false);
            return;
          }
          assert.ok(d.ok, d.ok ? '' : d.reason);
          assert.equal(d.next.state, expected === '=' ? state : expected);
        });
      }
    }
  });

  it('prepares every participant in parallel on commit', function () {
    const d = decide(AT.ACTIVE, { type: 'commit:requested', onePhaseAllowed: true });
    assert.ok(d.ok);
    assert.deepEqual(d.effects, [
      { type: 'send:prepare', name: 'a' },
      { type: 'send:prepare', name: 'b' },
    ]);
  });

  it('commits a lone participant in one phase only when allowed', function () {
    const one = tx('ACTIVE', { participants: [newParticipant('a', 'h:1')] });
    const allowed = decide(one, { type: 'commit:requested', onePhaseAllowed: true });
    assert.ok(allowed.ok);
    assert.equal(allowed.next.onePhase, true);
    assert.deepEqual(allowed.effects, [{ type: 'send:commit', name: 'a', onePhase: true }]);
    const refused = decide(one, { type: 'commit:requested', onePhaseAllowed: false });
    assert.ok(refused.ok);
    assert.deepEqual(refused.effects, [{ type: 'send:prepare', name: 'a' }]);
  });

  it('commits a transaction without participants at once', function () {
    const d = decide(tx('ACTIVE', { participants: [] }), EVENTS['commit:requested']);
    assert.ok(d.ok);
    assert.equal(d.next.state, 'COMMITTED');
    assert.deepEqual(d.effects, []);
  });

  it('decides commit when the last vote is in, telling only PREPARED voters', function () {
    let cur = AT.PREPARING;
    for (const [name, vote] of [
      ['a', 'READ_ONLY'],
      ['b', 'PREPARED'],
    ] as const) {
      const d = decide(cur, { type: 'vote:received', name, vote, reason: null });
      assert.ok(d.ok);
      cur = d.next;
    }
    assert.equal(cur.state, 'COMMITTING');
    assert.deepEqual(pendingPhaseTwo(cur), [{ type: 'send:commit', name: 'b', onePhase: false }]);
  });

  it('commits without phase 2 when every vote is READ_ONLY', function () {
    const first = decide(AT.PREPARING, {
      type: 'vote:received',
      name: 'a',
      vote: 'READ_ONLY',
      reason: null,
    });
    assert.ok(first.ok);
    const second = decide(first.next, {
      type: 'vote:received',
      name: 'b',
      vote: 'READ_ONLY',
      reason: null,
    });
    assert.ok(second.ok);
    assert.equal(second.next.state, 'COMMITTED');
    assert.deepEqual(second.effects, []);
  });

  it('aborts on an ABORT vote, telling everyone but the ABORT voter', function () {
    const d = decide(AT.PREPARING, {
      type: 'vote:received',
      name: 'b',
      vote: 'ABORT',
      reason: 'no stock',
    });
    assert.ok(d.ok);
    assert.equal(d.next.state, 'ABORTING');
    assert.equal(d.next.reason, "participant 'b' voted ABORT: no stock");
    assert.deepEqual(d.effects, [{ type: 'send:abort', name: 'a' }]);
  });

  it('aborts on a failed prepare and still tells that participant (it may have prepared late)', function () {
    const d = decide(AT.PREPARING, {
      type: 'prepare:failed',
      name: 'a',
      reason: 'DEADLINE_EXCEEDED',
    });
    assert.ok(d.ok);
    assert.equal(d.next.reason, "participant 'a' failed to prepare: DEADLINE_EXCEEDED");
    assert.deepEqual(
      d.effects.map((e) => e.name),
      ['a', 'b'],
    );
  });

  it('ignores a repeated vote', function () {
    const d1 = decide(AT.PREPARING, EVENTS['vote:received']);
    assert.ok(d1.ok);
    const d2 = decide(d1.next, EVENTS['vote:received']);
    assert.ok(d2.ok);
    assert.equal(d2.next, d1.next);
  });

  it('rejects a vote from a participant that was never asked', function () {
    assert.equal(
      decide(AT.PREPARING, { type: 'vote:received', name: 'zz', vote: 'PREPARED', reason: null })
        .ok,
      false,
    );
  });

  it('finishes after the last acknowledgement and records a heuristic outcome', function () {
    const d1 = decide(AT.COMMITTING, { type: 'ack:received', name: 'a', outcome: 'ABORTED' });
    assert.ok(d1.ok);
    assert.equal(d1.next.state, 'COMMITTING');
    assert.equal(d1.next.participants[0]?.heuristic, 'ABORTED');
    const d2 = decide(d1.next, { type: 'ack:received', name: 'b', outcome: 'COMMITTED' });
    assert.ok(d2.ok);
    assert.equal(d2.next.state, 'COMMITTED');
    assert.equal(d2.next.participants[1]?.heuristic, null);
  });

  it("takes a one-phase participant's word that it committed before the abort reached it", function () {
    const one = tx('ABORTING', {
      onePhase: true,
      reason: 'timeout',
      participants: [newParticipant('a', 'h:1')],
    });
    assert.equal(outcomeOf(one), 'PENDING');
    const d = decide(one, { type: 'ack:received', name: 'a', outcome: 'COMMITTED' });
    assert.ok(d.ok);
    assert.equal(d.next.state, 'COMMITTED');
    assert.equal(d.next.reason, null);
  });

  it('gives up an Abort only on a participant that never voted', function () {
    const aborting = tx('ABORTING', {
      reason: 'x',
      participants: [
        newParticipant('silent', 'h:1'),
        { ...newParticipant('prepared', 'h:2'), vote: 'PREPARED' },
      ],
    });
    const d1 = decide(aborting, { type: 'abort:undeliverable', name: 'silent' });
    assert.ok(d1.ok);
    assert.equal(d1.next.state, 'ABORTING');
    assert.equal(d1.next.participants[0]?.acked, true);
    assert.equal(decide(d1.next, { type: 'abort:undeliverable', name: 'prepared' }).ok, false);
    const d2 = decide(d1.next, { type: 'ack:received', name: 'prepared', outcome: 'ABORTED' });
    assert.ok(d2.ok);
    assert.equal(d2.next.state, 'ABORTED');
    const onePhase = tx('ABORTING', {
      onePhase: true,
      reason: 'x',
      participants: [newParticipant('a', 'h:1')],
    });
    assert.equal(decide(onePhase, { type: 'abort:undeliverable', name: 'a' }).ok, false);
  });

  it('aborts a one-phase transaction at once when its Commit never reached the participant', function () {
    const onePhase = tx('PREPARING', {
      onePhase: true,
      participants: [newParticipant('a', 'h:1')],
    });
    const d = decide(onePhase, { type: 'onephase:unsent', reason: 'never reached' });
    assert.ok(d.ok);
    assert.equal(d.next.state, 'ABORTED', 'not in doubt: nothing can have committed');
    assert.equal(d.next.reason, 'never reached');
    assert.deepEqual(d.effects, [], 'nobody is owed an Abort');
    assert.equal(outcomeOf(d.next), 'ABORTED');
  });

  it('never lets an expired lease or a late vote undo a commit decision', function () {
    for (const event of [
      EVENTS['lease:expired'],
      EVENTS['prepare:failed'],
      { type: 'vote:received', name: 'a', vote: 'ABORT', reason: 'late' } as const,
    ]) {
      const d = decide(AT.COMMITTING, event);
      assert.ok(d.ok);
      assert.equal(d.next.state, 'COMMITTING');
      assert.deepEqual(d.effects, []);
    }
  });

  it('replays the stored state into the same phase-2 effects (recovery is replay)', function () {
    const stored = {
      ...AT.COMMITTING,
      participants: AT.COMMITTING.participants.map((p, i) => ({ ...p, acked: i === 0 })),
    };
    const d = decide(stored, EVENTS['tx:recovered']);
    assert.ok(d.ok);
    assert.deepEqual(d.effects, [{ type: 'send:commit', name: 'b', onePhase: false }]);
    assert.deepEqual(decide(stored, EVENTS['tx:recovered']), d);
    const aborting = decide(AT.ABORTING, EVENTS['tx:recovered']);
    assert.ok(aborting.ok);
    assert.deepEqual(
      aborting.effects.map((e) => e.type),
      ['send:abort', 'send:abort'],
    );
  });

  it('aborts an undecided PREPARING transaction on recovery (presumed abort)', function () {
    const d = decide(AT.PREPARING, EVENTS['tx:recovered']);
    assert.ok(d.ok);
    assert.equal(d.next.reason, 'COORDINATOR_RECOVERY');
  });

  it('reports outcomes: pending before the decision, then the decision', function () {
    assert.deepEqual(
      TX_STATES.map((s) => outcomeOf(AT[s])),
      ['PENDING', 'PENDING', 'COMMITTED', 'ABORTED', 'COMMITTED', 'ABORTED'],
    );
  });
});
