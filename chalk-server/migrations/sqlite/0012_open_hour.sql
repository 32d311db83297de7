-- The open hour (store/usage.rs `advance`): what a tenant's changes used in the hour its
-- meter stands in is kept on the tenant's row, not written to usage_periods, until a change
-- in a later hour (or the tenant's deletion) writes it there. A change within one hour then
-- costs no statement beyond the tenant's lock: the lock's UPDATE adds the span and the
-- level to these columns. Reads add the open hour to the period holding it, as they add the
-- time the levels have run since metered_at.
--
-- open_hour: the hour (its first second, UTC) of metered_at. open_peak: the largest level
-- that held in it before the last change; the level after that change is
-- active_participants, and the hour's peak is the larger of the two.
ALTER TABLE tenants ADD COLUMN open_hour BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN open_participant_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN open_room_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN open_peak BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN open_participants_joined BIGINT NOT NULL DEFAULT 0;
-- Every change so far wrote its hour: nothing is open yet.
UPDATE tenants SET open_hour = metered_at / 3600 * 3600;
