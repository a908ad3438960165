import type { ListFilter } from '../../src/store/transaction-store.ts';

/** A listing of every transaction, newest first, 50 a page: tests spread their filter over it. */
export const LIST_ALL: ListFilter = {
  states: [],
  minAgeSeconds: 0,
  limit: 50,
  after: null,
  stuckAfterMs: null,
  heuristicOnly: false,
  labels: {},
  tenant: null,
  participant: null,
};
