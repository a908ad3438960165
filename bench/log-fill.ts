// Logs that are not new: finished transactions written straight into a
// migrated schema, as a busy log holds them until retention removes them.
import type pg from 'pg';

/**
 * Fills a migrated schema with `n` finished transactions of a busy log, then
 * ANALYZE: one every 10 ms, the newest now, ids random as the coordinator's
 * are; two participants each, four tenants, one in fifty aborted, a label on
 * one in ten, a few stuck in phase 2. `layout` says where the participants
 * go: a row each (`rows`, what releases before 0.3 write, and what a filter
 * on a participant reads), or a JSON array in the transaction's row
 * (`folded`, what this release writes).
 */
export async function fillLog(
  db: pg.Pool,
  schema: string,
  n: number,
  layout: 'rows' | 'folded',
): Promise<void> {
  const c = await db.connect();
  try {
    // SET LOCAL: the connection goes back to a pool the bench's own queries share.
    await c.query('BEGIN');
    await c.query(`SET LOCAL search_path = ${schema}`);
    await c.query(
      `INSERT INTO twopc_transactions
         (txn_id, state, reason, labels, lease_ms, lease_expires_at, participant_count, created_at,
          updated_at, decided_at, finished_at, tenant, principal, participants)
       SELECT gen_random_uuid(), CASE WHEN i % 50 = 0 THEN 'ABORTED' ELSE 'COMMITTED' END,
         CASE WHEN i % 50 = 0 THEN 'VOTE_ABORT: inventory: out of stock' END,
         CASE WHEN i % 10 = 0 THEN '{"batch":"nightly"}'::jsonb ELSE '{}'::jsonb END,
         60000, ts + interval '60 s', 2, ts, ts, ts, ts + interval '5 ms',
         (ARRAY['default', 'acme', 'globex', 'initech'])[1 + abs(hashtext(i::text)) % 4], 'svc',
         CASE WHEN $2 THEN jsonb_build_array(
           jsonb_build_object('name', 'inventory', 'endpoint', 'inventory:50051', 'voted_at', ts, 'acked_at', ts + interval '5 ms'),
           jsonb_build_object('name', 'payments', 'endpoint', 'payments:50051', 'voted_at', ts, 'acked_at', ts + interval '5 ms')) END
       FROM generate_series(1, $1::integer) i, LATERAL (SELECT now() - ($1 - i) * interval '10 ms' AS ts) t`,
      [n, layout === 'folded'],
    );
    if (layout === 'rows') {
      await c.query(
        `INSERT INTO twopc_participants (txn_id, name, endpoint, enlisted_at, vote, voted_at, acked_at, heuristic)
         SELECT t.txn_id, p.name, p.name || ':50051', t.created_at, NULL, t.created_at, t.finished_at,
           CASE WHEN p.name = 'payments' AND hashtext(t.txn_id::text) % 100000 = 0 THEN 'ABORTED' END
         FROM twopc_transactions t, (VALUES ('inventory'), ('payments')) p(name)`,
      );
    }
    // A few stuck in phase 2 (decided long ago, a participant not acknowledging).
    await c.query(
      `UPDATE twopc_transactions SET state = 'COMMITTING', finished_at = NULL
       WHERE txn_id IN (SELECT txn_id FROM twopc_transactions ORDER BY created_at LIMIT 5)`,
    );
    await c.query('COMMIT');
    await c.query(`ANALYZE ${schema}.twopc_transactions, ${schema}.twopc_participants`);
  } finally {
    c.release();
  }
}

/** The floor's table holding `n` decisions, as the log holds `n` transactions. */
export async function fillFloor(db: pg.Pool, schema: string, n: number): Promise<void> {
  await db.query(
    `INSERT INTO ${schema}.floor_decisions (txn_id, participants)
     SELECT gen_random_uuid(), ARRAY['inventory', 'payments'] FROM generate_series(1, $1::integer)`,
    [n],
  );
  await db.query(`ANALYZE ${schema}.floor_decisions`);
}
