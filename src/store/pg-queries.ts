import { TX_COLUMNS } from './pg-rows.ts';

/**
 * The folded participants of `column` (see log-layout.ts), each element `e`
 * that `match` selects replaced by `replace`, the others kept, in order.
 */
function mapFolded(column: string, match: string, replace: string): string {
  return `COALESCE((SELECT jsonb_agg(CASE WHEN ${match} THEN ${replace} ELSE f.e END ORDER BY f.o)
      FROM jsonb_array_elements(${column}) WITH ORDINALITY AS f(e, o)), '[]')`;
}

/** Whether the folded participants of `column` hold one named `name` that has not acknowledged. */
function foldedOwes(column: string, name: string): string {
  return `EXISTS (SELECT 1 FROM jsonb_array_elements(${column}) AS o(e)
      WHERE o.e->>'name' = ${name} AND NOT o.e ? 'acked_at')`;
}

/**
 * `tenants(tenant)`, for a `WITH RECURSIVE`: every tenant with a transaction
 * in the log, found by skipping through the tenant/created-at index (one
 * probe per tenant; the log keeps no index over every tenant by creation).
 */
export const TENANTS = `tenants(tenant) AS (
      SELECT min(tenant) FROM twopc_transactions
      UNION ALL
      SELECT (SELECT min(x.tenant) FROM twopc_transactions x WHERE x.tenant > tenants.tenant)
      FROM tenants WHERE tenants.tenant IS NOT NULL)`;

/** Begin's statement, with `onConflict` (a clause, or nothing) after its INSERT. */
function beginStatement(onConflict: string): string {
  return `WITH d AS (
      SELECT * FROM unnest($1::uuid[], $2::jsonb[], $3::integer[], $4::integer[], $5::uuid[], $6::text[], $10::text[], $11::text[], $12::jsonb[])
        AS d(txn_id, labels, lease_ms, participant_count, owner_id, trace_context, tenant, principal, participants)),
    tok AS MATERIALIZED (SELECT twopc_store_token() AS token),
    t AS (
      INSERT INTO twopc_transactions
        (txn_id, state, labels, lease_ms, lease_expires_at, participant_count, owner_id, trace_context, store_token, tenant, principal, participants, trace)
      SELECT txn_id, 'ACTIVE', labels, lease_ms, now() + make_interval(secs => lease_ms / 1000.0), participant_count, owner_id,
        CASE WHEN participants IS NULL THEN trace_context END, tok.token, tenant, principal,
        participants, CASE WHEN participants IS NOT NULL THEN trace_context END
      FROM d, tok
${onConflict}      RETURNING txn_id, lease_expires_at),
    p AS (
      INSERT INTO twopc_participants (txn_id, name, endpoint)
      SELECT x.txn_id, x.name, x.endpoint FROM unnest($7::uuid[], $8::text[], $9::text[]) AS x(txn_id, name, endpoint)
      JOIN t USING (txn_id))
    SELECT txn_id, lease_expires_at FROM t`;
}

/**
 * Every SQL statement of the store, parameterized and named (pg prepares a
 * named statement once per connection).
 */
export const SQL = {
  // Begins a batch of transactions (concurrent Begin calls share a statement).
  // A transaction of the folded layout carries its participants in $12 (and
  // none in $7-$9) and its trace context in `trace`; one of the rows layout
  // has $12 NULL (see log-layout.ts).
  // beginNew is sent first: a plain INSERT, which writes no speculative
  // insertion record (48 bytes of WAL per transaction). Only if it fails
  // with a unique violation (a client-made id given twice) is the batch sent
  // again as begin, whose ON CONFLICT inserts nothing for an id already in
  // the log, neither the row nor its participants, and returns no row: the
  // caller answers that Begin ALREADY_EXISTS, never a raw unique violation.
  begin: beginStatement('      ON CONFLICT (txn_id) DO NOTHING\n'),
  beginNew: beginStatement(''),

  // Enlists a batch (concurrent Enlist calls share a statement). The
  // UPDATE raises participant_count of transactions still ACTIVE (its WHERE
  // is checked again on the newest row version once the row lock is held):
  // that row lock orders Enlist against Commit, whose UPDATE then sees the
  // raised count. Only then are the participants inserted; a name already
  // there is left alone (the caller explains it). A name the statement's
  // snapshot already holds is not counted: counted, a lone participant
  // enlisted twice lost its one-phase claim, and its commit aborted
  // (LOG_STORE_RESTARTED). Two Enlists of one name racing may both count it:
  // participant_count is an upper bound, never below the participants, and
  // startPreparing re-reads the list whenever it disagrees. No separate locking step: a SELECT FOR
  // UPDATE writes a WAL record of its own for every row; rows are visited in
  // txn_id order, and the rare deadlock of two batches is retried.
  // A transaction of the folded layout gets the names it does not hold yet
  // appended to its row by the same UPDATE (its SET is evaluated again on the
  // newest row version too), tagged with the statement's enlisted_at; those
  // are the ones it reports inserted.
  enlist: `WITH d AS (
      SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS d(txn_id, name, endpoint, ord)),
    c AS (
      SELECT txn_id, count(DISTINCT name)::integer AS n FROM d
      WHERE NOT EXISTS (SELECT 1 FROM twopc_participants p WHERE p.txn_id = d.txn_id AND p.name = d.name)
      GROUP BY txn_id ORDER BY txn_id),
    t AS (
      UPDATE twopc_transactions x SET updated_at = now(),
        participant_count = x.participant_count + CASE WHEN x.participants IS NULL THEN c.n ELSE (
          SELECT count(DISTINCT y.name)::integer FROM d y
          WHERE y.txn_id = x.txn_id AND NOT x.participants @> jsonb_build_array(jsonb_build_object('name', y.name))) END,
        participants = CASE WHEN x.participants IS NOT NULL THEN x.participants || COALESCE((
          SELECT jsonb_agg(jsonb_build_object('name', n.name, 'endpoint', n.endpoint, 'enlisted_at', now()) ORDER BY n.name)
          FROM (SELECT DISTINCT ON (y.name) y.name, y.endpoint FROM d y WHERE y.txn_id = x.txn_id ORDER BY y.name, y.ord) n
          WHERE NOT x.participants @> jsonb_build_array(jsonb_build_object('name', n.name))), '[]') END
      FROM c WHERE x.txn_id = c.txn_id AND x.state = 'ACTIVE' AND x.participant_count + c.n <= $4
      RETURNING x.txn_id, x.lease_expires_at, x.participants AS folded),
    i AS (
      INSERT INTO twopc_participants (txn_id, name, endpoint)
      SELECT d.txn_id, d.name, d.endpoint FROM d JOIN t USING (txn_id) WHERE t.folded IS NULL
      ON CONFLICT (txn_id, name) DO NOTHING
      RETURNING txn_id, name)
    SELECT i.txn_id, i.name, t.lease_expires_at FROM i JOIN t USING (txn_id)
    UNION ALL
    SELECT t.txn_id, f.e->>'name', t.lease_expires_at FROM t, jsonb_array_elements(t.folded) AS f(e)
    WHERE (f.e->>'enlisted_at')::timestamptz = now()`,

  heartbeat: `UPDATE twopc_transactions
      SET lease_expires_at = GREATEST(lease_expires_at,
            now() + make_interval(secs => COALESCE($2::integer, lease_ms) / 1000.0)),
          updated_at = now()
      WHERE txn_id = $1 AND state = 'ACTIVE'
      RETURNING state, lease_expires_at`,

  // One round trip. The participant list comes from the statement's
  // snapshot; an Enlist that committed while this UPDATE waited for the row
  // lock is missing from it but counted in participant_count (the re-read
  // row version), and the caller then reads the list again. A folded row's
  // list is the one the UPDATE returns: the newest, and exact.
  // For a batch of transactions (concurrent Commit calls share a statement).
  // token_ok: the store has not restarted since the transaction began (see
  // migration 000005); a transaction without it can only abort.
  startPreparing: `WITH t AS (
      UPDATE twopc_transactions x
      SET state = 'PREPARING', one_phase = (x.participant_count = 1 AND $3::boolean), owner_id = $2, updated_at = now()
      WHERE x.txn_id = ANY($1::uuid[]) AND x.state = 'ACTIVE'
      RETURNING x.txn_id, x.one_phase, COALESCE(x.trace_context, x.trace) AS trace_context, x.participant_count,
        x.store_token, x.participants AS folded)
    SELECT t.txn_id, t.one_phase, t.trace_context,
      CASE WHEN t.folded IS NULL THEN t.participant_count ELSE jsonb_array_length(t.folded) END AS participant_count,
      COALESCE(t.store_token = (SELECT token FROM twopc_store_incarnation), false) AS token_ok,
      CASE WHEN t.folded IS NULL
        THEN COALESCE((SELECT jsonb_agg(jsonb_build_object('name', p.name, 'endpoint', p.endpoint, 'enlisted_at', p.enlisted_at) ORDER BY p.enlisted_at, p.name)
                       FROM twopc_participants p WHERE p.txn_id = t.txn_id), '[]')
        ELSE t.folded END AS participants
    FROM t`,

  participantsOf: `SELECT name, endpoint FROM (
      SELECT p.name, p.endpoint, p.enlisted_at FROM twopc_participants p WHERE p.txn_id = $1
      UNION ALL
      SELECT f.e->>'name', f.e->>'endpoint', COALESCE((f.e->>'enlisted_at')::timestamptz, t.created_at)
      FROM twopc_transactions t, jsonb_array_elements(t.participants) AS f(e) WHERE t.txn_id = $1) a
    ORDER BY enlisted_at, name`,

  // The decision write for a batch of transactions (group commit):
  // conditional on no decision yet (rules 3 and 8), votes folded in (only
  // those the decision does not imply: see writeDecisions). A commit decision
  // also needs the store's incarnation to be the one the transaction began
  // in: otherwise writes acknowledged to the client (an Enlist, an Abort)
  // may have been lost, and it is refused (allowed = false). Returns each
  // undecided transaction found, and whether its decision was allowed (and so
  // landed). A decider that read the transaction before its one-phase claim
  // (one_phase false) does not decide over that claim: its Commit may have
  // left already, so the participant's answer may still be the outcome. It
  // finds the row taken (LOST), reads it back and decides again from it.
  // The UPDATE checks its WHERE again on the newest row version once it
  // holds the row lock, so the decision is conditional without a separate
  // locking step (which would write a WAL record per row). A commit refused
  // for the incarnation is told from the statement's snapshot: a row another
  // decider took meanwhile may be reported refused rather than lost, and the
  // caller's abort then finds it taken and reads it back. The votes to write
  // come twice: as rows ($5-$9) for transactions of the rows layout, and per
  // transaction as an object by participant name ($10) for folded ones.
  recordDecisions: `WITH d AS (
      SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::boolean[], $10::jsonb[]) AS d(txn_id, state, reason, one_phase, votes)
      ORDER BY txn_id),
    cur AS MATERIALIZED (SELECT (SELECT token FROM twopc_store_incarnation) AS token),
    t AS (
      UPDATE twopc_transactions x
      SET state = d.state, reason = d.reason, one_phase = d.one_phase, decided_at = now(), updated_at = now(),
          finished_at = CASE WHEN d.state IN ('COMMITTED', 'ABORTED') THEN now() END,
          participants = CASE WHEN x.participants IS NULL OR d.votes IS NULL THEN x.participants
            ELSE ${mapFolded(
              'x.participants',
              "d.votes ? (f.e->>'name')",
              `(f.e - 'vote' - 'vote_reason' - 'acked_at' - 'voted_at') || jsonb_strip_nulls(jsonb_build_object(
                'vote', d.votes->(f.e->>'name')->'vote', 'vote_reason', d.votes->(f.e->>'name')->'vote_reason',
                'acked_at', CASE WHEN (d.votes->(f.e->>'name')->>'acked')::boolean THEN now() END,
                'voted_at', CASE WHEN d.votes->(f.e->>'name')->>'vote' IS NOT NULL THEN now() END))`,
            )} END
      FROM d, cur
      WHERE x.txn_id = d.txn_id AND x.state IN ('ACTIVE', 'PREPARING') AND (NOT x.one_phase OR d.one_phase)
        AND (d.state NOT IN ('COMMITTING', 'COMMITTED') OR COALESCE(x.store_token = cur.token, false))
      RETURNING x.txn_id),
    v AS (
      UPDATE twopc_participants p
      SET vote = y.vote, vote_reason = y.reason, acked_at = CASE WHEN y.acked THEN now() END,
          voted_at = CASE WHEN y.vote IS NOT NULL THEN now() END
      FROM t, unnest($5::uuid[], $6::text[], $7::text[], $8::text[], $9::boolean[]) AS y(txn_id, name, vote, reason, acked)
      WHERE y.txn_id = t.txn_id AND p.txn_id = y.txn_id AND p.name = y.name)
    SELECT txn_id, true AS allowed FROM t
    UNION ALL
    SELECT x.txn_id, false FROM twopc_transactions x JOIN d USING (txn_id), cur
    WHERE d.txn_id NOT IN (SELECT txn_id FROM t) AND x.state IN ('ACTIVE', 'PREPARING')
      AND (NOT x.one_phase OR d.one_phase) AND d.state IN ('COMMITTING', 'COMMITTED')
      AND NOT COALESCE(x.store_token = cur.token, false)`,

  // Forced, after the move to PREPARING of a one-phase commit and before its
  // Commit leaves: makes the claim durable (a forced commit flushes every
  // earlier WAL record) and checks that the store has not restarted since
  // Begin. The lone participant's answer is then the outcome, and no other
  // decider may take the transaction for an ACTIVE one.
  confirmOnePhase: `UPDATE twopc_transactions SET updated_at = now()
      WHERE txn_id = $1 AND state = 'PREPARING' AND one_phase
        AND store_token = (SELECT token FROM twopc_store_incarnation)
      RETURNING txn_id`,

  // Forced: a durability barrier for a state read back from the log before
  // it is acted on or reported (rule 9; a synchronous standby's wait that was
  // cancelled leaves a commit visible before it is replicated). Touching the
  // row writes WAL, so its forced commit flushes everything before it. It
  // changes nothing: updated_at tells the recovery scan when work was last
  // done on the transaction, and a reader is not work.
  touch: `UPDATE twopc_transactions SET updated_at = updated_at WHERE txn_id = $1 RETURNING state`,

  // Rows of the rows layout, and each folded transaction row once (in
  // txn_id order, as every batch locks them).
  recordAcks: `WITH x AS (
      SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) AS x(txn_id, name, heuristic)),
    r AS (
      UPDATE twopc_participants p
      SET acked_at = now(), heuristic = x.heuristic, next_attempt_at = NULL
      FROM x WHERE p.txn_id = x.txn_id AND p.name = x.name AND p.acked_at IS NULL),
    a AS (
      SELECT txn_id, jsonb_object_agg(name, heuristic) AS acks, bool_or(heuristic IS NOT NULL) AS heuristic
      FROM x GROUP BY txn_id ORDER BY txn_id)
    UPDATE twopc_transactions t
    SET participants = ${mapFolded(
      't.participants',
      "a.acks ? (f.e->>'name') AND NOT f.e ? 'acked_at'",
      `(f.e - 'next_attempt_at' - 'heuristic') || jsonb_strip_nulls(jsonb_build_object('acked_at', now(), 'heuristic', a.acks->(f.e->>'name')))`,
    )},
      has_heuristic = CASE WHEN a.heuristic THEN true ELSE t.has_heuristic END
    FROM a WHERE t.txn_id = a.txn_id AND t.participants IS NOT NULL
      AND EXISTS (SELECT 1 FROM jsonb_array_elements(t.participants) AS o(e) WHERE a.acks ? (o.e->>'name') AND NOT o.e ? 'acked_at')`,

  recordDeliveryFailure: `WITH r AS (
      UPDATE twopc_participants
      SET attempts = $3::integer, last_error = $4::text, next_attempt_at = now() + make_interval(secs => $5::double precision / 1000.0)
      WHERE txn_id = $1 AND name = $2::text AND acked_at IS NULL)
    UPDATE twopc_transactions t
    SET participants = ${mapFolded(
      't.participants',
      "f.e->>'name' = $2::text",
      "f.e || jsonb_build_object('attempts', $3::integer, 'last_error', $4::text, 'next_attempt_at', now() + make_interval(secs => $5::double precision / 1000.0))",
    )}
    WHERE t.txn_id = $1 AND t.participants IS NOT NULL AND ${foldedOwes('t.participants', '$2::text')}`,

  // Final states for a batch of transactions, each only from its expected
  // state. Participant rows are written only to record a heuristic outcome:
  // in a finished transaction every participant that owed an
  // acknowledgement gave it (the store derives that), so the normal path
  // writes one row, not one per participant. Heuristic outcomes come as rows
  // ($5-$8) for the rows layout, and per transaction as an object by
  // participant name ($9) for the folded one.
  recordCompletions: `WITH d AS (
      SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $9::jsonb[]) AS d(txn_id, state, from_state, reason, heuristics)),
    t AS (
      UPDATE twopc_transactions x
      SET state = d.state, reason = d.reason, finished_at = now(), updated_at = now(),
        participants = CASE WHEN x.participants IS NULL OR d.heuristics IS NULL THEN x.participants
          ELSE ${mapFolded(
            'x.participants',
            "d.heuristics ? (f.e->>'name')",
            `(f.e - 'next_attempt_at') || jsonb_build_object('acked_at', COALESCE(f.e->'acked_at', to_jsonb(now())), 'heuristic', d.heuristics->(f.e->>'name'))`,
          )} END,
        has_heuristic = CASE WHEN x.participants IS NOT NULL AND d.heuristics IS NOT NULL THEN true ELSE x.has_heuristic END
      FROM d WHERE x.txn_id = d.txn_id AND x.state = d.from_state
      RETURNING x.txn_id),
    v AS (
      UPDATE twopc_participants p
      SET acked_at = COALESCE(p.acked_at, now()), heuristic = y.heuristic, next_attempt_at = NULL
      FROM t, unnest($5::uuid[], $6::text[], $7::boolean[], $8::text[]) AS y(txn_id, name, acked, heuristic)
      WHERE y.txn_id = t.txn_id AND p.txn_id = y.txn_id AND p.name = y.name AND y.acked AND y.heuristic IS NOT NULL)
    SELECT txn_id FROM t`,

  get: `SELECT ${TX_COLUMNS} FROM twopc_transactions t WHERE t.txn_id = $1`,

  expireLeases: `WITH due AS (
      SELECT txn_id FROM twopc_transactions
      WHERE finished_at IS NULL AND lease_expires_at < now() AND state = 'ACTIVE'
      ORDER BY lease_expires_at LIMIT $2
      FOR UPDATE SKIP LOCKED),
    t AS (
      UPDATE twopc_transactions x
      SET state = CASE WHEN x.participant_count = 0 THEN 'ABORTED' ELSE 'ABORTING' END,
          reason = 'LEASE_EXPIRED', owner_id = $1, decided_at = now(), updated_at = now(),
          finished_at = CASE WHEN x.participant_count = 0 THEN now() END
      FROM due WHERE x.txn_id = due.txn_id
      RETURNING x.txn_id)
    SELECT txn_id FROM t`,

  // Unfinished work whose owner is missing or whose lease ran out. SKIP
  // LOCKED keeps two coordinators from claiming the same transaction.
  claimOrphans: `WITH orphan AS (
      SELECT t.txn_id FROM twopc_transactions t
      LEFT JOIN twopc_coordinators c ON c.id = t.owner_id
      WHERE t.finished_at IS NULL AND t.state IN ('ACTIVE', 'PREPARING', 'COMMITTING', 'ABORTING')
        AND (t.owner_id IS NULL OR c.id IS NULL OR c.lease_expires_at < now())
      LIMIT $2
      FOR UPDATE OF t SKIP LOCKED),
    t AS (
      UPDATE twopc_transactions x SET owner_id = $1, updated_at = now()
      FROM orphan WHERE x.txn_id = orphan.txn_id
      RETURNING x.txn_id)
    SELECT txn_id FROM t`,

  // This coordinator's own unfinished work that no run of it has touched
  // for a while: after the store lost a completion or an acknowledgement in
  // a crash (or anything else left it behind), the log is the truth and the
  // work is driven again. ACTIVE transactions are left to their lease.
  ownStale: `SELECT t.txn_id FROM twopc_transactions t
      WHERE t.finished_at IS NULL AND t.owner_id = $1
        AND t.state IN ('PREPARING', 'COMMITTING', 'ABORTING')
        AND t.updated_at < now() - make_interval(secs => $2::double precision / 1000.0)
      ORDER BY t.updated_at LIMIT $3`,

  // The store's incarnation (created if the table was emptied): a change
  // means PostgreSQL restarted after a crash or a standby was promoted. With
  // it, the log's size: the larger of what its statistics last counted and
  // the live rows the server's activity counters hold (see PlanPolicy).
  incarnation: `SELECT twopc_store_token()::text AS token,
      (SELECT GREATEST(c.reltuples, COALESCE(pg_stat_get_live_tuples(c.oid), 0))
       FROM pg_class c WHERE c.oid = 'twopc_transactions'::regclass)::float8 AS rows`,

  recordOperatorAction: `INSERT INTO twopc_operator_actions (txn_id, action, participant, detail, principal) VALUES ($1, $2, $3, $4, $5)`,

  // An operator's resolution, written only by the first of two operators
  // (or two coordinators) who resolve the same participant: the UPDATE checks
  // its WHERE again on the newest row version once it holds the row lock, so
  // the second finds the acknowledgement (or the final state) there and
  // writes nothing, not even its audit row. A decided transaction: the
  // participant's acknowledgement, made durable here (what the resolution
  // means), so a crash before the run hears of it cannot undo it. A folded
  // transaction is resolved in its own row, under the same conditions.
  resolveOwed: `WITH p AS (
      UPDATE twopc_participants p SET acked_at = now(), next_attempt_at = NULL
      FROM twopc_transactions t
      WHERE p.txn_id = $1 AND p.name = $2 AND p.acked_at IS NULL AND t.txn_id = p.txn_id
        AND t.state IN ('COMMITTING', 'ABORTING') AND NOT (t.one_phase AND t.state = 'ABORTING')
      RETURNING p.txn_id),
    folded AS (
      UPDATE twopc_transactions t
      SET participants = ${mapFolded(
        't.participants',
        "f.e->>'name' = $2 AND NOT f.e ? 'acked_at'",
        "(f.e - 'next_attempt_at') || jsonb_build_object('acked_at', now())",
      )}
      WHERE t.txn_id = $1 AND t.participants IS NOT NULL
        AND t.state IN ('COMMITTING', 'ABORTING') AND NOT (t.one_phase AND t.state = 'ABORTING')
        AND ${foldedOwes('t.participants', '$2')}
      RETURNING t.txn_id)
    INSERT INTO twopc_operator_actions (txn_id, action, participant, detail, principal)
    SELECT txn_id, 'RESOLVE', $2, $3, $4 FROM (SELECT txn_id FROM p UNION ALL SELECT txn_id FROM folded) r
    RETURNING txn_id`,

  // In doubt (a one-phase Commit whose answer was lost): the operator's
  // outcome is the transaction's, written as its final state from ABORTING
  // (as a completion is: a finished transaction's participants count as
  // acknowledged).
  resolveInDoubt: `WITH t AS (
      UPDATE twopc_transactions SET state = $5, reason = $6, finished_at = now(), updated_at = now()
      WHERE txn_id = $1 AND state = 'ABORTING' AND one_phase
      RETURNING txn_id)
    INSERT INTO twopc_operator_actions (txn_id, action, participant, detail, principal)
    SELECT txn_id, 'RESOLVE', $2, $3, $4 FROM t
    RETURNING txn_id`,

  // Who may see a transaction: its tenant, and whether a participant is enlisted.
  access: `SELECT t.tenant, CASE WHEN t.participants IS NULL
        THEN EXISTS (SELECT 1 FROM twopc_participants p WHERE p.txn_id = t.txn_id AND p.name = $2::text)
        ELSE t.participants @> jsonb_build_array(jsonb_build_object('name', $2::text)) END AS enlisted
      FROM twopc_transactions t WHERE t.txn_id = $1`,

  // Unfinished transactions, of one tenant or (null) of all: admission caps.
  // finished_at IS NULL: the small partial index twopc_transactions_open.
  openCount: `SELECT count(*)::integer AS n FROM twopc_transactions
      WHERE finished_at IS NULL AND ($1::text IS NULL OR tenant = $1)`,

  backlog: `SELECT
      count(*) FILTER (WHERE state IN ('COMMITTING', 'ABORTING') AND decided_at < now() - make_interval(secs => $1::double precision / 1000.0))::integer AS stuck,
      count(*) FILTER (WHERE state = 'ABORTING' AND one_phase)::integer AS in_doubt
    FROM twopc_transactions WHERE finished_at IS NULL`,

  getMany: `SELECT ${TX_COLUMNS} FROM twopc_transactions t WHERE t.txn_id = ANY($1::uuid[])`,

  registerCoordinator: `WITH gone AS (DELETE FROM twopc_coordinators WHERE name = $2 AND id <> $1)
    INSERT INTO twopc_coordinators (id, name, lease_expires_at, version)
    VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000.0), $4)
    ON CONFLICT (id) DO UPDATE SET lease_expires_at = EXCLUDED.lease_expires_at`,

  renewCoordinator: `UPDATE twopc_coordinators
      SET lease_expires_at = now() + make_interval(secs => $2::double precision / 1000.0) WHERE id = $1`,

  deregisterCoordinator: `DELETE FROM twopc_coordinators WHERE id = $1`,

  // The releases of the coordinators alive on the log (log-layout.ts
  // layoutAmong): read at registration and at each renewal, never per Begin.
  liveVersions: `SELECT version FROM twopc_coordinators WHERE lease_expires_at > now()`,

  // Never deletes a transaction with an unacknowledged participant: only
  // finished (COMMITTED/ABORTED) rows have finished_at set. Walks each
  // tenant's range of the tenant/created-at index from its oldest (a
  // transaction finishes after it began); the few old ones still
  // unfinished, or finished too recently, are passed over.
  deleteFinished: `WITH RECURSIVE ${TENANTS},
    old AS (
      SELECT o.txn_id FROM tenants, LATERAL (
        SELECT t.txn_id FROM twopc_transactions t
        WHERE t.tenant = tenants.tenant
          AND t.created_at < now() - make_interval(secs => $1::double precision / 1000.0)
          AND t.finished_at < now() - make_interval(secs => $1::double precision / 1000.0)
          AND t.state IN ('COMMITTED', 'ABORTED')
        ORDER BY t.created_at LIMIT $2) o
      LIMIT $2)
    DELETE FROM twopc_transactions WHERE txn_id IN (SELECT txn_id FROM old)`,
} as const;

export type QueryName = keyof typeof SQL;

/**
 * Statements planned with their values at every execution: their generic
 * plan goes wrong at any size of the log. Retention's batch delete walks
 * each tenant's range up to a parameter's age; its generic plan cannot know
 * how much of the range that is and reads the whole table. (The listing's
 * statements are planned so too: see listStatement.) Both run rarely, so
 * planning each time costs nothing that shows.
 */
export const CUSTOM_PLAN: ReadonlySet<QueryName> = new Set<QueryName>(['deleteFinished']);
