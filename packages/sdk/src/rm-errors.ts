/** Phase 2 found the branch rolled back by someone else (an operator's XA ROLLBACK or ROLLBACK PREPARED). */
export class HeuristicRollbackError extends Error {
  readonly outcome = 'ABORTED';
  readonly participant: string;
  readonly txnId: string;
  constructor(participant: string, txnId: string) {
    super(
      `heuristic rollback: the prepared branch of ${participant} in transaction ${txnId} was rolled back outside twopc`,
    );
    this.name = 'HeuristicRollbackError';
    this.participant = participant;
    this.txnId = txnId;
  }
}

/** Phase 2 found the branch committed by someone else. */
export class HeuristicCommitError extends Error {
  readonly outcome = 'COMMITTED';
  readonly participant: string;
  readonly txnId: string;
  constructor(participant: string, txnId: string) {
    super(
      `heuristic commit: the prepared branch of ${participant} in transaction ${txnId} was committed outside twopc`,
    );
    this.name = 'HeuristicCommitError';
    this.participant = participant;
    this.txnId = txnId;
  }
}

/**
 * The database refused phase 2 by the branch's id yet still lists it
 * prepared (MariaDB answers "unknown XID" while the connection that
 * prepared it has not yet detached): not finished, phase 2 is retried.
 */
export class BranchBusyError extends Error {
  readonly participant: string;
  readonly txnId: string;
  constructor(participant: string, txnId: string) {
    super(
      `the branch of ${participant} in transaction ${txnId} is prepared but not yet reachable by its id (its preparing connection is still attached): retried`,
    );
    this.name = 'BranchBusyError';
    this.participant = participant;
    this.txnId = txnId;
  }
}
