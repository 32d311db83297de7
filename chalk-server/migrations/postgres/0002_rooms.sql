-- Rooms and participants come alive (the tables exist since 0001): the statements of
-- migrations/sqlite/0002_rooms.sql, with BIGINT for INTEGER.

-- Set while an open room has nobody in it; the empty-room sweeper ends rooms whose
-- `empty_since` is older than their tenant's `empty_room_timeout_minutes`.
ALTER TABLE rooms ADD COLUMN empty_since BIGINT;
-- Part of every participant token; bumped whenever the participant's tokens must die
-- (refresh, removal, replacement under `disconnect_existing`).
ALTER TABLE participants ADD COLUMN token_generation BIGINT NOT NULL DEFAULT 0;

-- Quota checks count a tenant's open rooms and a room's present participants.
CREATE INDEX rooms_tenant_open ON rooms (tenant_id, ended_at);
CREATE INDEX rooms_tenant_seq ON rooms (tenant_id, seq);
CREATE INDEX rooms_empty_since ON rooms (empty_since) WHERE ended_at IS NULL;
CREATE INDEX participants_present ON participants (tenant_id, room_id, left_at);
CREATE INDEX participants_user ON participants (tenant_id, room_id, user_id);
