-- Webhooks (API.md "Webhooks"): a tenant's endpoints, its events, and one delivery per
-- (event, target), written in the transaction of the change that caused the event.

CREATE TABLE webhook_endpoints (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    -- Space-separated event types, or `*`.
    events TEXT NOT NULL,
    description TEXT,
    enabled INTEGER NOT NULL,
    -- Sealed with CHALK_ENCRYPTION_KEY; the previous one signs too until it expires.
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_expires_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, seq);

CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    -- The event's `data` object, JSON text.
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_tenant ON events (tenant_id, seq);
CREATE INDEX events_tenant_type ON events (tenant_id, type, seq);
CREATE INDEX events_created ON events (created_at);

CREATE TABLE webhook_deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    -- The endpoint delivered to; NULL for the config's post_meeting_webhook, whose URL
    -- and sealed secret are kept here as they were when the meeting ended.
    endpoint_id TEXT REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    url TEXT,
    secret TEXT,
    -- pending | succeeded | failed | exhausted
    status TEXT NOT NULL,
    attempt_count INTEGER NOT NULL,
    -- JSON array of {at, status_code?, error?, duration_ms}.
    attempts TEXT NOT NULL,
    -- When it is due (pending, failed); NULL once settled.
    next_attempt_at INTEGER,
    -- A worker's claim: who holds it and until when (a lease, so a killed worker's claim
    -- lapses and another sends it).
    claimed_by TEXT,
    claimed_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id, seq);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);

-- api_key.expiring is sent once per key and horizon (7 days, 1 day).
CREATE TABLE api_key_expiry_notices (
    key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    horizon TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, horizon)
);
