-- Chalk schema, version 1, for PostgreSQL: the same tables as migrations/sqlite. Timestamps
-- are Unix seconds (UTC); `seq` columns give a stable order for cursor pagination.

CREATE TABLE tenants (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    email TEXT,
    status TEXT NOT NULL,
    max_concurrent_rooms BIGINT NOT NULL,
    max_participants_per_room BIGINT NOT NULL,
    max_recording_duration_minutes BIGINT NOT NULL,
    rate_limit_per_minute BIGINT NOT NULL,
    config TEXT NOT NULL,
    revision BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- Emails are unique regardless of case.
CREATE UNIQUE INDEX tenants_email_unique ON tenants (lower(email));
CREATE INDEX tenants_status ON tenants (status, seq);

CREATE TABLE api_keys (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at BIGINT,
    revoked_at BIGINT
);
-- The invariant "one primary key per tenant" lives in the schema, so no race between
-- instances can break it.
CREATE UNIQUE INDEX api_keys_one_primary ON api_keys (tenant_id) WHERE is_primary;
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, seq);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_key ON refresh_tokens (key_id);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    status BIGINT,
    response TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

CREATE TABLE rooms (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT,
    status TEXT NOT NULL,
    scheduled_start BIGINT,
    max_participants BIGINT,
    created_at BIGINT NOT NULL,
    ended_at BIGINT,
    UNIQUE (tenant_id, id)
);

CREATE TABLE participants (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    room_id TEXT NOT NULL,
    user_id TEXT,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    joined_at BIGINT NOT NULL,
    left_at BIGINT,
    FOREIGN KEY (tenant_id, room_id) REFERENCES rooms (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX participants_room ON participants (tenant_id, room_id);
