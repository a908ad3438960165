--! expand
-- Fewer WAL bytes per transaction: every update after Begin but the
-- completion stays HOT, and rows carry three index entries, not six.
--
-- An update is HOT (a new row version on the same page, no index entry) only
-- while no index reads a column it changes, predicates included.
-- twopc_transactions_tenant_unfinished (000006) named `state` in its
-- predicate, so every move (PREPARING, the decision, the completion) wrote a
-- new entry in each of the table's six indexes: about 2 kB of WAL per
-- transaction. Unfinished transactions are found through
-- twopc_transactions_open (`finished_at IS NULL`, which changes once).
-- Listing every tenant newest first and retention walk each tenant's range
-- of twopc_transactions_tenant_created, so the index over every tenant by
-- creation and the one by finish time are no longer needed either.
--
-- Expand: no statement of the previous release changes its result. Three
-- of them lose an index while both releases share the log, and read the
-- table instead: its admission count (once a second per tenant), its
-- retention batch and its listing of every tenant.
DROP INDEX twopc_transactions_tenant_unfinished;
DROP INDEX twopc_transactions_finished;
DROP INDEX twopc_transactions_created;

-- Room on each page for a transaction's row versions until pruning reclaims
-- them (applies to pages filled from now on).
ALTER TABLE twopc_transactions SET (fillfactor = 50);
