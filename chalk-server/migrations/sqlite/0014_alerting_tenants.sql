-- The usage-alert check (domain/usage_alerts.rs) runs after every usage flush, every few
-- seconds, over the tenants whose config holds usage alerts. It found them by the config's
-- text, reading every tenant's row each time. `alerting` is 1 for those tenants, set by
-- every write of the config (store/tenants.rs), and the index holds just them.
ALTER TABLE tenants ADD COLUMN alerting BIGINT NOT NULL DEFAULT 0;
-- The stored config names `usage_alerts` only when the list is not empty.
UPDATE tenants SET alerting = 1 WHERE config LIKE '%"usage_alerts"%';
CREATE INDEX tenants_alerting ON tenants (seq) WHERE alerting = 1;
