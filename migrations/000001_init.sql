-- The transaction log.
--
-- One row per distributed transaction. `state` is the protocol state; a row
-- in COMMITTING is the durable commit decision (written with
-- synchronous_commit = on before any phase-2 message leaves). Every other
-- write may be lost in a database crash without harm: presumed abort turns a
-- missing decision into an abort.
CREATE TABLE twopc_transactions (
  txn_id            uuid PRIMARY KEY,
  state             text NOT NULL
                    CHECK (state IN ('ACTIVE', 'PREPARING', 'COMMITTING', 'ABORTING', 'COMMITTED', 'ABORTED')),
  reason            text,
  labels            jsonb NOT NULL DEFAULT '{}',
  -- The lease given at Begin, reused by Heartbeat calls that give none.
  lease_ms          integer NOT NULL CHECK (lease_ms > 0),
  -- Compared with the database's now(): every coordinator sees one clock.
  lease_expires_at  timestamptz NOT NULL,
  -- Enlist bumps it: the row lock it takes orders Enlist against Commit.
  participant_count integer NOT NULL DEFAULT 0,
  one_phase         boolean NOT NULL DEFAULT false,
  -- The coordinator incarnation driving the transaction (twopc_coordinators.id).
  owner_id          uuid,
  trace_context     text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  decided_at        timestamptz,
  finished_at       timestamptz
);

-- Unfinished work: what the lease sweeper and the recovery scan read. Partial,
-- so it stays small however many finished rows the table holds.
CREATE INDEX twopc_transactions_unfinished
  ON twopc_transactions (state, lease_expires_at)
  WHERE state IN ('ACTIVE', 'PREPARING', 'COMMITTING', 'ABORTING');

CREATE INDEX twopc_transactions_owner
  ON twopc_transactions (owner_id)
  WHERE state IN ('ACTIVE', 'PREPARING', 'COMMITTING', 'ABORTING');

-- Listing newest first, and retention (finished_at) in small batches.
CREATE INDEX twopc_transactions_created ON twopc_transactions (created_at DESC, txn_id);
CREATE INDEX twopc_transactions_finished ON twopc_transactions (finished_at)
  WHERE finished_at IS NOT NULL;

-- One row per enlisted participant.
CREATE TABLE twopc_participants (
  txn_id          uuid NOT NULL REFERENCES twopc_transactions (txn_id) ON DELETE CASCADE,
  name            text NOT NULL,
  endpoint        text NOT NULL,
  enlisted_at     timestamptz NOT NULL DEFAULT now(),
  vote            text CHECK (vote IN ('PREPARED', 'READ_ONLY', 'ABORT')),
  vote_reason     text,
  acked_at        timestamptz,
  -- Phase-2 delivery: attempts so far, the last error and the next retry.
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text,
  next_attempt_at timestamptz,
  -- An outcome the participant reported against the decision.
  heuristic       text CHECK (heuristic IN ('COMMITTED', 'ABORTED')),
  PRIMARY KEY (txn_id, name)
);

-- Live coordinator incarnations. A transaction whose owner row is missing or
-- whose lease ran out is taken over by the recovery scan of another (or the
-- restarted) coordinator.
CREATE TABLE twopc_coordinators (
  id               uuid PRIMARY KEY,
  name             text NOT NULL,
  started_at       timestamptz NOT NULL DEFAULT now(),
  lease_expires_at timestamptz NOT NULL
);
CREATE INDEX twopc_coordinators_name ON twopc_coordinators (name);
