-- The housekeeping tick looks for keys whose expiry falls within the next day or week
-- (`api_key.expiring` notices, store/events.rs `keys_expiring`). api_keys_expiring leads
-- with the tenant, so that scan read every key of every tenant — a million rows at the
-- bench's size, twice a tick, inside a write transaction. This index holds the same keys
-- by expiry, in the order the scan returns them.
CREATE INDEX api_keys_expiry_due ON api_keys (expires_at, seq)
  WHERE revoked_at IS NULL AND expires_at IS NOT NULL;
