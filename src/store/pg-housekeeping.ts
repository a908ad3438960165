import type { TxId } from '../core/tx-record.ts';
import type { OperatorActionKind, Resolution, TxAccess } from './transaction-store.ts';
import { VERSION } from '../package-version.ts';
import type { StorePools } from './pg-pools.ts';
import { runCount, runQuery } from './pg-run.ts';

// The store's housekeeping statements: coordinator incarnations, retention,
// the operator audit trail, backlog counts and the log's own incarnation.
// PgTransactionStore delegates to these; nothing else calls them.

/**
 * Registers a coordinator incarnation, declaring earlier ones of its name
 * dead. Forced, like renewals: a registration lost in a crash would let
 * other coordinators take this one's live work over (safe, but every such
 * transaction in PREPARING would abort).
 */
export async function registerCoordinator(
  pools: StorePools,
  id: string,
  name: string,
  leaseMs: number,
): Promise<void> {
  await runQuery(pools.forced, 'registerCoordinator', [id, name, leaseMs, VERSION]);
}

/** Renews an incarnation's lease (forced); false if it had been declared dead. */
export async function renewCoordinator(
  pools: StorePools,
  id: string,
  leaseMs: number,
): Promise<boolean> {
  return (await runCount(pools.forced, 'renewCoordinator', [id, leaseMs])) === 1;
}

/** Removes an incarnation at a clean shutdown; lost, its lease simply runs out. */
export async function deregisterCoordinator(pools: StorePools, id: string): Promise<void> {
  await runQuery(pools.lazy, 'deregisterCoordinator', [id]);
}

/** The versions of the coordinators whose lease runs (NULL: release 0.1.0). */
export async function liveVersions(pools: StorePools): Promise<(string | null)[]> {
  return (await runQuery<{ version: string | null }>(pools.lazy, 'liveVersions', [])).map(
    (r) => r.version,
  );
}

/** Deletes up to `limit` transactions finished more than `retentionMs` ago. */
export function deleteFinished(
  pools: StorePools,
  retentionMs: number,
  limit: number,
): Promise<number> {
  return runCount(pools.lazy, 'deleteFinished', [retentionMs, limit]);
}

/**
 * Appends to the audit trail. Forced: an audit trail that a crash could
 * shorten is no audit trail, and the operator has been told the action was
 * taken.
 */
export async function recordOperatorAction(
  pools: StorePools,
  txnId: TxId,
  action: OperatorActionKind,
  participant: string | null,
  detail: string,
  principal: string | null,
): Promise<void> {
  await runQuery(pools.forced, 'recordOperatorAction', [
    txnId,
    action,
    participant,
    detail,
    principal,
  ]);
}

/**
 * An operator's resolution with its audit row, as one conditional write:
 * false when the participant was acknowledged or resolved first. Forced:
 * the operator is told it was recorded.
 */
export async function claimResolution(pools: StorePools, r: Resolution): Promise<boolean> {
  const common = [r.txnId, r.participant, r.detail, r.principal];
  const rows =
    r.final === null
      ? await runQuery(pools.forced, 'resolveOwed', common)
      : await runQuery(pools.forced, 'resolveInDoubt', [...common, r.final.state, r.final.reason]);
  return rows.length > 0;
}

/** A transaction's tenant and whether a participant is enlisted. */
export async function access(
  pools: StorePools,
  txnId: TxId,
  participant: string | null,
): Promise<TxAccess | null> {
  const rows = await runQuery<{ tenant: string; enlisted: boolean }>(pools.lazy, 'access', [
    txnId,
    participant ?? '',
  ]);
  return rows[0] ?? null;
}

/** Unfinished transactions of a tenant, or of all. */
export async function openCount(pools: StorePools, tenant: string | null): Promise<number> {
  const rows = await runQuery<{ n: number }>(pools.lazy, 'openCount', [tenant]);
  return rows[0]?.n ?? 0;
}

/** Stuck and in-doubt counts. */
export async function backlog(
  pools: StorePools,
  stuckAfterMs: number,
): Promise<{ stuck: number; inDoubt: number }> {
  const rows = await runQuery<{ stuck: number; in_doubt: number }>(pools.lazy, 'backlog', [
    stuckAfterMs,
  ]);
  return { stuck: rows[0]?.stuck ?? 0, inDoubt: rows[0]?.in_doubt ?? 0 };
}

/** The log's incarnation token (created if the table was emptied by a crash or promotion). */
export async function incarnation(pools: StorePools): Promise<string> {
  const rows = await runQuery<{ token: string; rows: number | null }>(
    pools.lazy,
    'incarnation',
    [],
  );
  pools.plans.rows = rows[0]?.rows ?? -1;
  return rows[0]?.token ?? '';
}
