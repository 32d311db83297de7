-- The housekeeping purge deletes by age; these keep it from scanning whole tables as
-- they grow.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
