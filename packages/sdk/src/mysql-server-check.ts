import type { Pool, RowDataPacket } from 'mysql2/promise';
import { MYSQL_ERRNO, errnoOf } from './mysql-errors.ts';

/** What the participant learnt about its server at start-up. */
export interface MySqlServer {
  readonly flavor: 'MariaDB' | 'MySQL';
  /** The server's version string, as it reports it. */
  readonly version: string;
  /** What keeps the participant from being correct here: each names the version, grant or setting to fix. */
  readonly problems: readonly string[];
  /** Things an operator should know that do not refuse service (durability settings). */
  readonly warnings: readonly string[];
}

/** The oldest versions accepted: a prepared branch survives a disconnect, XA is crash-safe with the binary log. */
export const MINIMUM_VERSION = { MariaDB: [10, 5, 0], MySQL: [8, 0, 30] } as const;

function atLeast(have: readonly number[], want: readonly number[]): boolean {
  for (let i = 0; i < want.length; i++) {
    const h = have[i] ?? 0;
    const w = want[i] ?? 0;
    if (h !== w) {
      return h > w;
    }
  }
  return true;
}

function flavorOf(version: string): 'MariaDB' | 'MySQL' {
  return /mariadb/i.test(version) ? 'MariaDB' : 'MySQL';
}

/**
 * Why a server of this version (as `VERSION()` reports it) cannot be a
 * participant, or null when it can.
 */
export function versionProblem(version: string): string | null {
  const flavor = flavorOf(version);
  const numbers = (/^(\d+)\.(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  const minimum = MINIMUM_VERSION[flavor];
  return numbers.length === 3 && atLeast(numbers, minimum)
    ? null
    : `${flavor} ${version} is too old: twopc needs ${flavor} ${minimum.join('.')} or later (where a prepared branch survives its connection closing and XA is crash-safe with the binary log)`;
}

/**
 * Probes the server: its version, the right to list prepared branches
 * (`XA RECOVER`: MySQL 8 wants XA_RECOVER_ADMIN), the binary log's format
 * against the isolation level, and on MySQL `xa_detach_on_prepare`.
 */
export async function checkMySqlServer(pool: Pool, isolation: string): Promise<MySqlServer> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT VERSION() AS version, @@log_bin AS log_bin, @@binlog_format AS binlog_format, @@innodb_flush_log_at_trx_commit AS flush, @@sync_binlog AS sync_binlog',
  );
  const row: RowDataPacket = rows[0] ?? ({} as RowDataPacket);
  const version = String(row.version);
  const flavor = flavorOf(version);
  const problems: string[] = [];
  const warnings: string[] = [];
  const tooOld = versionProblem(version);
  if (tooOld !== null) {
    problems.push(tooOld);
  }
  try {
    await pool.query(flavor === 'MySQL' ? 'XA RECOVER CONVERT XID' : 'XA RECOVER');
  } catch (err) {
    if (errnoOf(err) !== MYSQL_ERRNO.SPECIFIC_ACCESS_DENIED) {
      throw err;
    }
    problems.push(
      flavor === 'MySQL'
        ? 'the participant’s user may not run XA RECOVER, so prepared branches could not be recovered: GRANT XA_RECOVER_ADMIN ON *.* TO the user'
        : 'the participant’s user may not run XA RECOVER, so prepared branches could not be recovered: grant it the SUPER privilege',
    );
  }
  if (
    Number(row.log_bin) === 1 &&
    String(row.binlog_format).toUpperCase() === 'STATEMENT' &&
    /READ (COMMITTED|UNCOMMITTED)/.test(isolation)
  ) {
    problems.push(
      `binlog_format=STATEMENT cannot log ${isolation} transactions: set binlog_format=ROW (or MIXED), or choose REPEATABLE READ`,
    );
  }
  if (flavor === 'MySQL') {
    const [detach] = await pool.query<RowDataPacket[]>('SELECT @@xa_detach_on_prepare AS d');
    if (Number(detach[0]?.d) !== 1) {
      problems.push(
        'xa_detach_on_prepare is OFF: a branch prepared on a connection stays bound to it; set xa_detach_on_prepare=ON',
      );
    }
  }
  if (Number(row.flush) !== 1) {
    warnings.push(
      `innodb_flush_log_at_trx_commit=${String(row.flush)}: a prepared branch can be lost in a crash of the machine; set it to 1`,
    );
  }
  if (Number(row.log_bin) === 1 && Number(row.sync_binlog) !== 1) {
    warnings.push(
      `sync_binlog=${String(row.sync_binlog)}: a prepared branch can be lost from the binary log in a crash of the machine (not of the server alone); set it to 1`,
    );
  }
  return { flavor, version, problems, warnings };
}
