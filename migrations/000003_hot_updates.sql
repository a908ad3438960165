-- Cheaper writes on the commit path.
--
-- A transaction row is updated several times (enlist, prepare, decision,
-- completion). An index that mentions `state` (even in its predicate) makes
-- every state change a non-HOT update that writes a new entry in every
-- index. Unfinished work is found by `finished_at IS NULL` instead, which
-- changes once, and pages keep room (fillfactor) so the other updates stay
-- HOT: same page, no index writes.
DROP INDEX twopc_transactions_unfinished;
DROP INDEX twopc_transactions_owner;
DROP INDEX twopc_transactions_labels;

-- The lease sweeper and the recovery scan: unfinished rows only.
CREATE INDEX twopc_transactions_open ON twopc_transactions (lease_expires_at) WHERE finished_at IS NULL;

ALTER TABLE twopc_transactions SET (fillfactor = 70);
ALTER TABLE twopc_participants SET (fillfactor = 70);
