--! breaking
-- Detecting a log that may have lost writes (DESIGN §3 rule 2).
--
-- Begin, Enlist, Heartbeat and the move to PREPARING are committed with
-- synchronous_commit = off: a crash of PostgreSQL can lose the last of them
-- after the client was answered. A transaction that lost an Enlist must not
-- commit (the participant would never be told), so every transaction
-- records the store's incarnation when it begins, and a commit decision
-- lands only while that incarnation is still current.
--
-- The incarnation lives in an UNLOGGED table: PostgreSQL empties unlogged
-- tables in crash recovery and on a promoted standby (they are not
-- replicated) and keeps them across a clean restart, which loses nothing.
-- Any lost write implies such an emptying, so a transaction whose token no
-- longer matches can only abort (LOG_STORE_RESTARTED). The check is in the
-- decision statement itself: no extra round trip, and every coordinator
-- sharing the log sees the same incarnation.
--
-- Breaking: a coordinator older than this migration begins transactions
-- without a token (which newer coordinators can never commit) and commits
-- without checking one. Transactions left unfinished by older code have no
-- token and therefore abort if a newer coordinator is asked to commit them.
CREATE UNLOGGED TABLE twopc_store_incarnation (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  token      uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE twopc_transactions ADD COLUMN store_token uuid;

-- The current incarnation, created on first use after the table was emptied.
-- VOLATILE: each statement inside sees rows committed by a concurrent caller
-- that created the token first (ON CONFLICT waits for it).
CREATE FUNCTION twopc_store_token() RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  current_token uuid;
BEGIN
  SELECT token INTO current_token FROM twopc_store_incarnation;
  IF current_token IS NULL THEN
    INSERT INTO twopc_store_incarnation (token) VALUES (gen_random_uuid()) ON CONFLICT DO NOTHING;
    SELECT token INTO current_token FROM twopc_store_incarnation;
  END IF;
  RETURN current_token;
END
$$;
