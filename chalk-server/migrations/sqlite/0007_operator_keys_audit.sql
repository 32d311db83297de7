-- Operator keys and the audit log (API.md "Operator keys and audit log").

-- Named credentials with the master key's powers. Like API keys, only the SHA-256 of the
-- secret is stored; a revoked key keeps its row so the audit log can still name it.
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

-- Append-only: no statement of the server updates a row, and only the retention purge
-- deletes. `tenant_id` has no foreign key on purpose: a deleted tenant's history stays.
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
