// `twopc/pg`: a PostgreSQL database as a participant (PREPARE TRANSACTION).
// Its own entry because it needs `pg` (an optional peer dependency) and
// its types (`@types/pg`); the main entry never loads either.
export { PgParticipant } from './pg-participant.ts';
export type { PgParticipantOptions } from './pg-participant.ts';
export { BranchBusyError, HeuristicCommitError, HeuristicRollbackError } from './rm-errors.ts';
export { PREPARED_METRICS } from './prepared-branches.ts';
