--! expand
-- Which release each coordinator runs, so that an operator sees which
-- versions share the log during a rolling upgrade (twopc_build_info, and
-- the row itself). Expand: a nullable column the previous release neither
-- reads nor writes; its coordinators register with it NULL (0.1.0).
ALTER TABLE twopc_coordinators ADD COLUMN version text;
