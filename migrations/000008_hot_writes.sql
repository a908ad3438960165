--! expand
-- Fewer WAL bytes per transaction: every update after Begin stays HOT.
--
-- An update is HOT (a new row version on the same page, no index entry) only
-- while no index reads a column it changes, predicates included.
-- twopc_transactions_tenant_unfinished (000006) named `state` in its
-- predicate, so every move (PREPARING, the decision, the completion) wrote a
-- new entry in each of the table's six indexes: about 2 kB of WAL per
-- transaction. Unfinished transactions are found through
-- twopc_transactions_open (`finished_at IS NULL`, which changes once), and
-- retention walks twopc_transactions_created from the oldest, so neither
-- index below is needed any more.
--
-- Expand: no statement of the previous release changes its result. Two of
-- them lose an index while both releases share the log: its admission count
-- (once a second per tenant) and its retention batch read the table instead.
DROP INDEX twopc_transactions_tenant_unfinished;
DROP INDEX twopc_transactions_finished;

-- Room on each page for a transaction's row versions until pruning reclaims
-- them (applies to pages filled from now on).
ALTER TABLE twopc_transactions SET (fillfactor = 50);
