import assert from 'node:assert/strict';
import { ABORT_KINDS, TX_EVENT_TYPES, abortKindOf } from '../../src/core/tx-event.ts';
import { EVENTS } from '../support/tx-events.ts';

describe('abortKindOf(): the metric label of an abort, from the event that decided it', function () {
  it('labels by what happened, never by what a client wrote', function () {
    // A client's reason that reads like a vote is still a client's abort.
    assert.equal(
      abortKindOf({ type: 'abort:requested', reason: 'voted ABORT by client' }),
      'CLIENT_ABORT',
    );
    assert.equal(abortKindOf({ type: 'abort:requested', reason: 'LEASE_EXPIRED' }), 'CLIENT_ABORT');
    assert.equal(
      abortKindOf({
        type: 'abort:requested',
        reason: 'x did not answer',
        kind: 'PARTICIPANT_FAILED',
      }),
      'PARTICIPANT_FAILED',
    );
    assert.equal(
      abortKindOf({ type: 'vote:received', name: 'a', vote: 'ABORT', reason: 'no' }),
      'VOTE_ABORT',
    );
    assert.equal(
      abortKindOf({ type: 'prepare:failed', name: 'a', reason: 'DEADLINE' }),
      'PARTICIPANT_FAILED',
    );
    assert.equal(
      abortKindOf({ type: 'onephase:answered', outcome: 'ABORTED', reason: null }),
      'ONE_PHASE_REFUSED',
    );
    assert.equal(abortKindOf({ type: 'lease:expired' }), 'LEASE_EXPIRED');
    assert.equal(abortKindOf({ type: 'tx:recovered' }), 'COORDINATOR_RECOVERY');
  });

  it('answers one of a fixed set for every event type', function () {
    for (const type of TX_EVENT_TYPES) {
      const event = EVENTS[type];
      assert.ok((ABORT_KINDS as readonly string[]).includes(abortKindOf(event)), type);
    }
  });
});
