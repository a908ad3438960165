/** Where a participant's branch of a transaction stands. */
export const BranchState = {
  /** Joined; tentative work may be under way. */
  ACTIVE: 'ACTIVE',
  /** Voted PREPARED: must be able to commit until told the outcome. */
  PREPARED: 'PREPARED',
  COMMITTED: 'COMMITTED',
  ABORTED: 'ABORTED',
  /** Voted READ_ONLY: nothing to finish. */
  READ_ONLY: 'READ_ONLY',
} as const;
export type BranchState = (typeof BranchState)[keyof typeof BranchState];

/**
 * The participant's small record of its branches: what makes phase-2
 * dedupe, empty rollback and suspension possible. A participant whose
 * prepared work survives a restart needs a durable implementation; the
 * in-memory one suits work that a restart rolls back anyway.
 */
export interface BranchStore {
  get(txnId: string): Promise<BranchState | null>;
  set(txnId: string, state: BranchState): Promise<void>;
  /** Branches left PREPARED: in doubt after a restart. */
  listPrepared(): Promise<string[]>;
}

/**
 * Branch records in memory. Finished branches are kept (for suspension of
 * late Prepares) up to `maxFinished`, oldest evicted first.
 */
export class InMemoryBranchStore implements BranchStore {
  readonly #branches = new Map<string, BranchState>();
  readonly #maxFinished: number;
  #finished = 0;

  constructor(maxFinished = 100_000) {
    this.#maxFinished = maxFinished;
  }

  async get(txnId: string): Promise<BranchState | null> {
    return this.#branches.get(txnId) ?? null;
  }

  async set(txnId: string, state: BranchState): Promise<void> {
    const before = this.#branches.get(txnId);
    const finished = (s: BranchState | undefined): boolean =>
      s === 'COMMITTED' || s === 'ABORTED' || s === 'READ_ONLY';
    this.#finished += (finished(state) ? 1 : 0) - (finished(before) ? 1 : 0);
    this.#branches.delete(txnId);
    this.#branches.set(txnId, state);
    for (const [id, s] of this.#branches) {
      if (this.#finished <= this.#maxFinished) {
        break;
      }
      if (finished(s)) {
        this.#branches.delete(id);
        this.#finished--;
      }
    }
  }

  async listPrepared(): Promise<string[]> {
    return [...this.#branches].filter(([, s]) => s === 'PREPARED').map(([id]) => id);
  }
}
