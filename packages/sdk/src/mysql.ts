// `twopc/mysql`: a MariaDB or MySQL database as a participant (XA). Its
// own entry because it needs `mysql2` (an optional peer dependency); the
// main entry never loads it, and its types never mention it.
export { MySqlParticipant, XID_FORMAT_ID } from './mysql-participant.ts';
export type { MySqlIsolation, MySqlParticipantOptions } from './mysql-participant.ts';
export { XaBranchError, XaFailureKind } from './mysql-errors.ts';
export { MINIMUM_VERSION } from './mysql-server-check.ts';
export type { MySqlServer } from './mysql-server-check.ts';
export { BranchBusyError, HeuristicCommitError, HeuristicRollbackError } from './rm-errors.ts';
export { PREPARED_METRICS } from './prepared-branches.ts';
