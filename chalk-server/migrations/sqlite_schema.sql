-- The schema built by the SQLite migrations through 15 (store/migrations.rs).
-- Generated; do not edit. After adding a migration, write it again with
-- CHALK_WRITE_SCHEMA=1 cargo test -p chalk-server --test store_conformance schema
CREATE TABLE tenants (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    email TEXT,
    status TEXT NOT NULL,
    max_concurrent_rooms INTEGER NOT NULL,
    max_participants_per_room INTEGER NOT NULL,
    max_recording_duration_minutes INTEGER NOT NULL,
    rate_limit_per_minute INTEGER NOT NULL,
    config TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
, external_id TEXT, active_rooms BIGINT NOT NULL DEFAULT 0, total_rooms BIGINT NOT NULL DEFAULT 0, active_participants BIGINT NOT NULL DEFAULT 0, live_keys BIGINT NOT NULL DEFAULT 0, started_rooms BIGINT NOT NULL DEFAULT 0, metered_at BIGINT NOT NULL DEFAULT 0, metered_from BIGINT NOT NULL DEFAULT 0, open_hour BIGINT NOT NULL DEFAULT 0, open_participant_seconds BIGINT NOT NULL DEFAULT 0, open_room_seconds BIGINT NOT NULL DEFAULT 0, open_peak BIGINT NOT NULL DEFAULT 0, open_participants_joined BIGINT NOT NULL DEFAULT 0, alerting BIGINT NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX tenants_email_unique ON tenants (lower(email));
CREATE INDEX tenants_status ON tenants (status, seq);
CREATE TABLE api_keys (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    is_primary INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX api_keys_one_primary ON api_keys (tenant_id) WHERE is_primary = 1;
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, seq);
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    status INTEGER,
    response TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE TABLE rooms (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT,
    status TEXT NOT NULL,
    scheduled_start INTEGER,
    max_participants INTEGER,
    created_at INTEGER NOT NULL,
    ended_at INTEGER, empty_since INTEGER, started_at INTEGER,
    UNIQUE (tenant_id, id)
);
CREATE TABLE participants (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    room_id TEXT NOT NULL,
    user_id TEXT,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    joined_at INTEGER NOT NULL,
    left_at INTEGER, token_generation INTEGER NOT NULL DEFAULT 0, tokens_expire_at INTEGER,
    FOREIGN KEY (tenant_id, room_id) REFERENCES rooms (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX participants_room ON participants (tenant_id, room_id);
CREATE INDEX rooms_tenant_open ON rooms (tenant_id, ended_at);
CREATE INDEX rooms_tenant_seq ON rooms (tenant_id, seq);
CREATE INDEX participants_present ON participants (tenant_id, room_id, left_at);
CREATE INDEX participants_user ON participants (tenant_id, room_id, user_id);
CREATE UNIQUE INDEX tenants_external_id_unique ON tenants (external_id) WHERE external_id IS NOT NULL;
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    algorithm TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retires_at INTEGER
);
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (status) WHERE status = 'current';
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
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
CREATE TABLE api_key_expiry_notices (
    key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    horizon TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, horizon)
);
CREATE TABLE operator_keys (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    last_used_at INTEGER,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE TABLE audit_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    at INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    tenant_id TEXT,
    changes TEXT,
    client_ip TEXT NOT NULL,
    user_agent TEXT
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, seq);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX api_keys_expiring ON api_keys (tenant_id, expires_at)
  WHERE revoked_at IS NULL AND expires_at IS NOT NULL;
CREATE TABLE usage_tenants (
    tenant_id TEXT PRIMARY KEY,
    tenant_seq INTEGER NOT NULL,
    external_id TEXT,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER NOT NULL
);
CREATE TABLE usage_alerts_fired (
    tenant_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    period TEXT NOT NULL,
    threshold INTEGER NOT NULL,
    period_start INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, metric, period, threshold, period_start)
);
CREATE TABLE usage_periods (
    tenant_id TEXT NOT NULL,
    -- 'hour', 'day' or 'month'; period_start is the period's first second (UTC).
    granularity TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    participant_seconds INTEGER NOT NULL DEFAULT 0,
    room_seconds INTEGER NOT NULL DEFAULT 0,
    peak_participants INTEGER NOT NULL DEFAULT 0,
    participants_joined INTEGER NOT NULL DEFAULT 0,
    rooms_created INTEGER NOT NULL DEFAULT 0,
    token_exchanges INTEGER NOT NULL DEFAULT 0,
    api_requests INTEGER NOT NULL DEFAULT 0,
    webhook_deliveries INTEGER NOT NULL DEFAULT 0,
    webhook_failures INTEGER NOT NULL DEFAULT 0,
    -- No foreign key: the history outlives the tenant until DELETE /tenants/{id}/usage.
    PRIMARY KEY (tenant_id, granularity, period_start)
);
CREATE INDEX api_keys_expiry_due ON api_keys (expires_at, seq)
  WHERE revoked_at IS NULL AND expires_at IS NOT NULL;
CREATE INDEX tenants_alerting ON tenants (seq) WHERE alerting = 1;
CREATE INDEX participants_present_expiry ON participants (tenant_id, tokens_expire_at)
  WHERE left_at IS NULL;
CREATE INDEX rooms_waiting_empty ON rooms (seq)
  WHERE ended_at IS NULL AND empty_since IS NOT NULL;
