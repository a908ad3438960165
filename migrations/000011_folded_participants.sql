--! expand
-- A second layout of a transaction's participants: folded into its row.
--
-- Each participant is a row of twopc_participants, with its own primary-key
-- entry and a foreign-key lock on the transaction row when it is inserted:
-- about 400 of the ≈ 1,700 bytes of WAL a two-participant transaction
-- writes. And every update of a transaction row (the claim, the decision,
-- the completion) logs the bytes between the first and the last column it
-- changes (PostgreSQL keeps only the unchanged ends out of the record):
-- trace_context, which never changes, sits in that span and is logged
-- three times.
--
-- In the folded layout the participants are a JSON array in
-- `participants` (name, endpoint; the vote, acknowledgement and delivery
-- fields once they are known) and the trace context is `trace`. Columns
-- added here come last in the row, after every column that changes, so an
-- update that leaves them alone does not log them. `has_heuristic` marks a
-- folded transaction whose participant reported a heuristic outcome, for
-- the operator's listing (a partial index on a column that changes only
-- then keeps every other update HOT).
--
-- A row says which layout it has: `participants` NULL is the rows layout,
-- as every row written before this migration is. The release that adds
-- this reads and updates both and still creates rows; the next creates the
-- folded layout, and a contract migration after it removes the rows layout
-- (docs/upgrading.md).
--
-- Expand: three nullable columns and a partial index over a column the
-- previous release never writes (its rows are not in it, its updates stay
-- HOT). No statement of the previous release changes its result over rows
-- of the rows layout; it never sees a folded row, since nothing creates
-- one while it may share the log.
ALTER TABLE twopc_transactions
  ADD COLUMN participants jsonb,
  ADD COLUMN trace text,
  ADD COLUMN has_heuristic boolean;

CREATE INDEX twopc_transactions_heuristic ON twopc_transactions (txn_id) WHERE has_heuristic;
