-- Usage metering (docs/api.md "Usage metering"): per tenant and UTC hour, what it used.
-- Rows, not events: a read costs the periods it asks for, never the tenant's history.
--
-- Time metrics are integrated from levels. The tenant row keeps the levels that time is
-- counted from (active_participants since 0008; started_rooms: rooms that had a first join
-- and have not ended) and metered_at, the instant up to which their time is written into
-- usage_hours. Every change of a level (join, leave, kick, replacement, room end) runs
-- under the tenant's row lock and, in the same transaction, advances metered_at to its
-- own time and adds the span [previous metered_at, now) at the previous levels to the
-- hours it covers (store/usage.rs). A read adds the span from metered_at to now at the
-- current levels. Counters (requests, token exchanges, webhook attempts) are added to the
-- same rows by the usage flush.
CREATE TABLE usage_hours (
    tenant_id TEXT NOT NULL,
    hour_start INTEGER NOT NULL,
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
    PRIMARY KEY (tenant_id, hour_start)
);

-- Deleted tenants whose usage is kept: their identity for GET /usage (tenant_seq: their
-- place in its order, the seq they had as tenants).
CREATE TABLE usage_tenants (
    tenant_id TEXT PRIMARY KEY,
    tenant_seq INTEGER NOT NULL,
    external_id TEXT,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER NOT NULL
);

-- One row per alert and period that fired: its primary key is what makes an alert fire
-- once across instances.
CREATE TABLE usage_alerts_fired (
    tenant_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    period TEXT NOT NULL,
    threshold INTEGER NOT NULL,
    period_start INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, metric, period, threshold, period_start)
);

-- The first join of a room (room_seconds count from it to the end).
ALTER TABLE rooms ADD COLUMN started_at INTEGER;
UPDATE rooms SET started_at = (SELECT MIN(p.joined_at) FROM participants p
  WHERE p.tenant_id = rooms.tenant_id AND p.room_id = rooms.id);

ALTER TABLE tenants ADD COLUMN started_rooms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN metered_at BIGINT NOT NULL DEFAULT 0;
-- metered_at as it was before the last change that advanced it (read back by that change).
ALTER TABLE tenants ADD COLUMN metered_from BIGINT NOT NULL DEFAULT 0;
-- Metering starts now for what is already going on.
UPDATE tenants SET
  started_rooms = (SELECT COUNT(*) FROM rooms r WHERE r.tenant_id = tenants.id
                     AND r.ended_at IS NULL AND r.started_at IS NOT NULL),
  metered_at = CAST(strftime('%s', 'now') AS INTEGER),
  metered_from = CAST(strftime('%s', 'now') AS INTEGER);
