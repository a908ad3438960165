import type { TxEvent, TxEventType } from '../../src/core/tx-event.ts';

/** A representative event of each type. */
export const EVENTS: Record<TxEventType, TxEvent> = {
  'commit:requested': { type: 'commit:requested', onePhaseAllowed: true },
  'abort:requested': { type: 'abort:requested', reason: 'client' },
  'vote:received': { type: 'vote:received', name: 'a', vote: 'PREPARED', reason: null },
  'prepare:failed': { type: 'prepare:failed', name: 'a', reason: 'UNAVAILABLE' },
  'onephase:answered': { type: 'onephase:answered', outcome: 'COMMITTED', reason: null },
  'onephase:unsent': { type: 'onephase:unsent', reason: 'unreachable: connection refused' },
  'ack:received': { type: 'ack:received', name: 'a', outcome: null },
  'abort:undeliverable': { type: 'abort:undeliverable', name: 'a' },
  'lease:expired': { type: 'lease:expired' },
  'tx:recovered': { type: 'tx:recovered' },
};
