-- Chalk schema, version 1. Timestamps are Unix seconds (UTC). `seq` columns give a stable
-- order for cursor pagination; public ids are random strings.

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
);
-- Emails are unique regardless of case.
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
-- The invariant "one primary key per tenant" lives in the schema, so no race can break it.
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
    ended_at INTEGER,
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
    left_at INTEGER,
    FOREIGN KEY (tenant_id, room_id) REFERENCES rooms (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX participants_room ON participants (tenant_id, room_id);
