import assert from 'node:assert/strict';
import { planWrite } from '../../src/coordinator/write-plan.ts';
import type { WritePlan } from '../../src/coordinator/write-plan.ts';
import { newParticipant } from '../../src/core/tx-record.ts';
import type { TxId, TxRecord } from '../../src/core/tx-record.ts';
import { TxState } from 'twopc/internal/contract/tx-state';
import type { TxState as State } from 'twopc/internal/contract/tx-state';

const base: TxRecord = {
  txnId: '00000000-0000-4000-8000-000000000001' as TxId,
  state: TxState.ACTIVE,
  reason: null,
  onePhase: false,
  participants: [newParticipant('a', 'h:1'), newParticipant('b', 'h:2')],
};

function tx(state: State, patch: Partial<TxRecord> = {}): TxRecord {
  return { ...base, state, ...patch };
}

/**
 * DESIGN §3 rule 2: a write may stay unforced only if losing it can never
 * let the transaction commit and nobody has been told an outcome that
 * depends on it.
 */
describe('planWrite(): which log write each transition needs', function () {
  const one = { onePhase: true, participants: [newParticipant('a', 'h:1')] };
  const cases: { name: string; before: TxRecord; next: TxRecord; plan: WritePlan }[] = [
    {
      name: 'the move to PREPARING is not forced (the decision checks the store)',
      before: tx('ACTIVE'),
      next: tx('PREPARING'),
      plan: { kind: 'none' },
    },
    {
      name: 'a one-phase commit is confirmed (forced) before its Commit leaves',
      before: tx('ACTIVE'),
      next: tx('PREPARING', one),
      plan: { kind: 'confirm-one-phase' },
    },
    {
      name: 'a commit decision is a forced decision write',
      before: tx('PREPARING'),
      next: tx('COMMITTING'),
      plan: { kind: 'decision', commit: true },
    },
    {
      name: 'an abort decision is forced too: participants and the client are told it',
      before: tx('PREPARING'),
      next: tx('ABORTING'),
      plan: { kind: 'decision', commit: false },
    },
    {
      name: 'a commit without participants is a decision',
      before: tx('ACTIVE', { participants: [] }),
      next: tx('COMMITTED', { participants: [] }),
      plan: { kind: 'decision', commit: true },
    },
    {
      name: 'an abort of an ACTIVE transaction is a decision',
      before: tx('ACTIVE'),
      next: tx('ABORTED'),
      plan: { kind: 'decision', commit: false },
    },
    {
      name: 'a one-phase outcome is the first record of its outcome: a forced completion',
      before: tx('PREPARING', one),
      next: tx('COMMITTED', one),
      plan: { kind: 'completion', from: 'PREPARING', forced: true },
    },
    {
      name: 'a one-phase participant that committed before its abort: forced',
      before: tx('ABORTING', one),
      next: tx('COMMITTED', one),
      plan: { kind: 'completion', from: 'ABORTING', forced: true },
    },
    {
      name: 'completing a durable two-phase decision is not forced',
      before: tx('COMMITTING'),
      next: tx('COMMITTED'),
      plan: { kind: 'completion', from: 'COMMITTING', forced: false },
    },
    {
      name: 'an acknowledgement is not forced',
      before: tx('COMMITTING'),
      next: tx('COMMITTING', {
        participants: [{ ...newParticipant('a', 'h:1'), acked: true }, newParticipant('b', 'h:2')],
      }),
      plan: { kind: 'ack', names: ['a'] },
    },
  ];
  for (const c of cases) {
    it(c.name, function () {
      assert.deepEqual(planWrite(c.before, c.next), c.plan);
    });
  }
});
