--! breaking
-- Commit decisions write less: a plain PREPARED vote is implied by a
-- two-phase commit decision and no longer written to its participant row.
-- Under a transaction in COMMITTING or COMMITTED (not one-phase), a
-- participant row without a vote voted PREPARED, at the latest when the
-- decision was logged. Code older than this migration would read such a vote
-- as missing and owe that participant no Commit, so it must not run against
-- this log: the marker above makes it refuse to start.
COMMENT ON COLUMN twopc_participants.vote IS
  'NULL under a two-phase commit decision (COMMITTING/COMMITTED, not one_phase) means PREPARED: implied by the decision';
