-- Tenants and principals.
--
-- Every transaction belongs to the tenant of the caller that began it, and
-- records that caller's principal (its certificate SAN or token subject).
-- Callers of another tenant are told it does not exist. Rows begun before
-- this migration, or by a coordinator that authenticates nobody, belong to
-- the 'default' tenant. Adding a column with a constant default rewrites
-- nothing, so this is quick on a large log, and older coordinators keep
-- working (their transactions land in 'default').
ALTER TABLE twopc_transactions ADD COLUMN tenant text NOT NULL DEFAULT 'default';
ALTER TABLE twopc_transactions ADD COLUMN principal text;

-- Admission counts a tenant's unfinished transactions; listing is per tenant.
CREATE INDEX twopc_transactions_tenant_unfinished
  ON twopc_transactions (tenant)
  WHERE state IN ('ACTIVE', 'PREPARING', 'COMMITTING', 'ABORTING');
CREATE INDEX twopc_transactions_tenant_created
  ON twopc_transactions (tenant, created_at DESC, txn_id);

-- Who did it: every operator action is attributed to its principal.
ALTER TABLE twopc_operator_actions ADD COLUMN principal text;
