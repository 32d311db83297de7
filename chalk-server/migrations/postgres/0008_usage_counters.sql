-- Usage kept, not counted: a tenant read costs the same at any size. Each counter is
-- changed by the statement that changes what it counts, in the same transaction, under
-- the tenant's row lock (store/tenants.rs `adjust_usage`).
--   active_rooms        rooms not ended
--   total_rooms         rooms ever created (ended included)
--   active_participants participants present (left_at IS NULL; ending a room lets
--                       everyone go, so present participants are all in open rooms)
--   live_keys           API keys not revoked; keys past their expiry are subtracted at
--                       read time through api_keys_expiring, which holds only keys that
--                       carry an expiry and are not revoked.
ALTER TABLE tenants ADD COLUMN active_rooms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN total_rooms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN active_participants BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN live_keys BIGINT NOT NULL DEFAULT 0;

UPDATE tenants SET
  active_rooms = (SELECT COUNT(*) FROM rooms r WHERE r.tenant_id = tenants.id AND r.ended_at IS NULL),
  total_rooms = (SELECT COUNT(*) FROM rooms r WHERE r.tenant_id = tenants.id),
  active_participants = (SELECT COUNT(*) FROM participants p WHERE p.tenant_id = tenants.id AND p.left_at IS NULL),
  live_keys = (SELECT COUNT(*) FROM api_keys k WHERE k.tenant_id = tenants.id AND k.revoked_at IS NULL);

CREATE INDEX api_keys_expiring ON api_keys (tenant_id, expires_at)
  WHERE revoked_at IS NULL AND expires_at IS NOT NULL;
