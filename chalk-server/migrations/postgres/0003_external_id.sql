-- Tenants gain an optional `external_id`: a stable name the operator chooses, the identity
-- provisioning files use. The statements of migrations/sqlite/0003_external_id.sql.

ALTER TABLE tenants ADD COLUMN external_id TEXT;
-- Unique when set; the server accepts only `[a-z0-9][a-z0-9._-]{0,62}`, so there is no case
-- to fold (unlike emails). The index also serves `GET /tenants?external_id=`.
CREATE UNIQUE INDEX tenants_external_id_unique ON tenants (external_id) WHERE external_id IS NOT NULL;
