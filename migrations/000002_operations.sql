-- Operations: when each vote arrived (for the timeline of `twopc tx show`)
-- and an audit trail of operator actions (retry, abort, resolve).
ALTER TABLE twopc_participants ADD COLUMN voted_at timestamptz;

CREATE TABLE twopc_operator_actions (
  id          bigserial PRIMARY KEY,
  txn_id      uuid NOT NULL REFERENCES twopc_transactions (txn_id) ON DELETE CASCADE,
  at          timestamptz NOT NULL DEFAULT now(),
  action      text NOT NULL CHECK (action IN ('RETRY', 'ABORT', 'RESOLVE')),
  participant text,
  detail      text NOT NULL DEFAULT ''
);
CREATE INDEX twopc_operator_actions_txn ON twopc_operator_actions (txn_id, at);

-- Finding heuristic outcomes without a scan of every participant.
CREATE INDEX twopc_participants_heuristic ON twopc_participants (txn_id) WHERE heuristic IS NOT NULL;

-- Listing by label.
CREATE INDEX twopc_transactions_labels ON twopc_transactions USING gin (labels);
