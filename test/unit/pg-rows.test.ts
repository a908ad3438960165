import assert from 'node:assert/strict';
import { toTxView } from '../../src/store/pg-rows.ts';
import type { TxRow } from '../../src/store/pg-rows.ts';

const decidedAt = new Date('2026-01-01T00:00:01Z');
const finishedAt = new Date('2026-01-01T00:00:02Z');

function participant(name: string, vote: string | null): TxRow['participants'][number] {
  return {
    name,
    endpoint: `${name}:50051`,
    enlisted_at: '2026-01-01T00:00:00Z',
    vote: vote as TxRow['participants'][number]['vote'],
    vote_reason: null,
    acked_at: null,
    attempts: 0,
    last_error: null,
    next_attempt_at: null,
    heuristic: null,
    voted_at: vote === null ? null : decidedAt.toISOString(),
  };
}

function row(over: Partial<TxRow>): TxRow {
  return {
    txn_id: '00000000-0000-4000-8000-000000000001',
    state: 'COMMITTING',
    reason: null,
    labels: {},
    lease_ms: 60_000,
    lease_expires_at: new Date('2026-01-01T00:01:00Z'),
    one_phase: false,
    owner_id: null,
    trace_context: null,
    tenant: 'default',
    principal: null,
    created_at: new Date('2026-01-01T00:00:00Z'),
    decided_at: decidedAt,
    finished_at: null,
    db_now: finishedAt,
    participants: [participant('a', null), participant('r', 'READ_ONLY')],
    operator_actions: [],
    ...over,
  };
}

const votes = (r: TxRow): [string, string | null, boolean][] =>
  toTxView(r).participants.map((p) => [p.name, p.vote, p.acked]);

describe('reading the log: what the decision and the completion imply', function () {
  it('reads an unwritten vote under a two-phase commit decision as PREPARED, cast at the decision', function () {
    const view = toTxView(row({}));
    assert.deepEqual(votes(row({})), [
      ['a', 'PREPARED', false],
      ['r', 'READ_ONLY', false],
    ]);
    assert.deepEqual(view.participants[0]?.votedAt, decidedAt);
  });

  it('reads a finished commit as acknowledged by every PREPARED voter, not by a READ_ONLY one', function () {
    assert.deepEqual(votes(row({ state: 'COMMITTED', finished_at: finishedAt })), [
      ['a', 'PREPARED', true],
      ['r', 'READ_ONLY', false],
    ]);
  });

  it('implies no vote before a decision, under an abort, or in a one-phase commit', function () {
    for (const over of [
      { state: 'PREPARING' as const, decided_at: null },
      { state: 'ABORTING' as const },
      { state: 'COMMITTED' as const, one_phase: true, finished_at: finishedAt },
    ]) {
      assert.equal(toTxView(row(over)).participants[0]?.vote, null, JSON.stringify(over));
    }
  });
});
