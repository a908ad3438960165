/**
 * MariaDB/MySQL error numbers the XA participant tells apart, in named sets
 * (never matched on message text).
 */
export const MYSQL_ERRNO = {
  LOCK_WAIT_TIMEOUT: 1205,
  DEADLOCK: 1213,
  XAER_NOTA: 1397,
  XAER_INVAL: 1398,
  XAER_RMFAIL: 1399,
  XAER_OUTSIDE: 1400,
  XAER_RMERR: 1401,
  XA_RBROLLBACK: 1402,
  XAER_DUPID: 1440,
  XA_RBTIMEOUT: 1613,
  XA_RBDEADLOCK: 1614,
  SPECIFIC_ACCESS_DENIED: 1227,
  ACCESS_DENIED: 1045,
  SERVER_SHUTDOWN: 1053,
} as const;

/** What went wrong with a branch, as data (metrics and reasons label by it). */
export const XaFailureKind = {
  /** A deadlock inside the work: the database rolled the branch back (ROLLBACK ONLY). */
  DEADLOCK: 'DEADLOCK',
  /** A lock wait timed out inside the work: the branch can only roll back. */
  LOCK_WAIT_TIMEOUT: 'LOCK_WAIT_TIMEOUT',
  /** The database rolled the branch back for another reason. */
  ROLLED_BACK: 'ROLLED_BACK',
  /** XAER_RMFAIL: a statement the branch's XA state does not allow (a COMMIT inside work(), say). */
  XA_STATE: 'XA_STATE',
  /** XAER_DUPID: the branch's XID is in use already (prepared before, or begun on another connection). */
  DUPLICATE_XID: 'DUPLICATE_XID',
  /** XAER_OUTSIDE: work was done outside the global transaction on its connection. */
  OUTSIDE: 'OUTSIDE',
  /** The connection was lost: during XA PREPARE, whether the branch is prepared is unknown. */
  CONNECTION_LOST: 'CONNECTION_LOST',
  /** Anything else the database refused. */
  REFUSED: 'REFUSED',
} as const;
export type XaFailureKind = (typeof XaFailureKind)[keyof typeof XaFailureKind];

const KIND_BY_ERRNO = new Map<number, XaFailureKind>([
  [MYSQL_ERRNO.DEADLOCK, XaFailureKind.DEADLOCK],
  [MYSQL_ERRNO.XA_RBDEADLOCK, XaFailureKind.DEADLOCK],
  [MYSQL_ERRNO.LOCK_WAIT_TIMEOUT, XaFailureKind.LOCK_WAIT_TIMEOUT],
  [MYSQL_ERRNO.XA_RBTIMEOUT, XaFailureKind.LOCK_WAIT_TIMEOUT],
  [MYSQL_ERRNO.XA_RBROLLBACK, XaFailureKind.ROLLED_BACK],
  [MYSQL_ERRNO.XAER_RMFAIL, XaFailureKind.XA_STATE],
  [MYSQL_ERRNO.XAER_DUPID, XaFailureKind.DUPLICATE_XID],
  [MYSQL_ERRNO.XAER_OUTSIDE, XaFailureKind.OUTSIDE],
  [MYSQL_ERRNO.SERVER_SHUTDOWN, XaFailureKind.CONNECTION_LOST],
]);

/** After these the database has rolled the branch back (or will only let it roll back). */
const ROLLBACK_ONLY: ReadonlySet<XaFailureKind> = new Set([
  XaFailureKind.DEADLOCK,
  XaFailureKind.LOCK_WAIT_TIMEOUT,
  XaFailureKind.ROLLED_BACK,
  XaFailureKind.XA_STATE,
  XaFailureKind.OUTSIDE,
  XaFailureKind.CONNECTION_LOST,
]);

/** The error number of a mysql2 error, if it carries one. */
export function errnoOf(err: unknown): number | undefined {
  const errno = (err as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/** Whether the error is the connection (not the statement) failing: mysql2 marks those fatal. */
function connectionLost(err: unknown): boolean {
  const e = err as { fatal?: unknown; errno?: unknown } | null;
  return e?.fatal === true && (typeof e.errno !== 'number' || e.errno >= 2000 || e.errno < 1000);
}

/** The kind of a failure of a branch's statement. */
export function failureKind(err: unknown): XaFailureKind {
  if (connectionLost(err)) {
    return XaFailureKind.CONNECTION_LOST;
  }
  return KIND_BY_ERRNO.get(errnoOf(err) ?? 0) ?? XaFailureKind.REFUSED;
}

/** Whether a failure inside work() leaves the branch only able to roll back. */
export function rollbackOnly(err: unknown): boolean {
  return ROLLBACK_ONLY.has(failureKind(err));
}

/** A statement of a branch failed; `kind` says how, as data. */
export class XaBranchError extends Error {
  readonly kind: XaFailureKind;
  readonly errno: number | undefined;
  constructor(kind: XaFailureKind, what: string, cause: unknown) {
    super(`${kind}: ${what}: ${(cause as Error | null)?.message ?? String(cause)}`, { cause });
    this.name = 'XaBranchError';
    this.kind = kind;
    this.errno = errnoOf(cause);
  }
}
