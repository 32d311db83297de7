-- Usage by hour, day and calendar month (docs/api.md "Usage metering"): a read asks for
-- periods of one granularity and reads exactly their rows, so a month of days costs 30
-- rows whatever the tenant's history, not the 720 hours they hold.
--
-- Each write adds to the hour, the day and the month it falls in, in one statement
-- (store/usage.rs: record, add_counters): a day row is always the sum of its hours (the
-- peak, their maximum), and a month of its days. usage_hours (0009) becomes the hour
-- rows; its days and months are summed from it here.
CREATE TABLE usage_periods (
    tenant_id TEXT NOT NULL,
    -- 'hour', 'day' or 'month'; period_start is the period's first second (UTC).
    granularity TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    participant_seconds BIGINT NOT NULL DEFAULT 0,
    room_seconds BIGINT NOT NULL DEFAULT 0,
    peak_participants BIGINT NOT NULL DEFAULT 0,
    participants_joined BIGINT NOT NULL DEFAULT 0,
    rooms_created BIGINT NOT NULL DEFAULT 0,
    token_exchanges BIGINT NOT NULL DEFAULT 0,
    api_requests BIGINT NOT NULL DEFAULT 0,
    webhook_deliveries BIGINT NOT NULL DEFAULT 0,
    webhook_failures BIGINT NOT NULL DEFAULT 0,
    -- No foreign key: the history outlives the tenant until DELETE /tenants/{id}/usage.
    PRIMARY KEY (tenant_id, granularity, period_start)
);

INSERT INTO usage_periods (tenant_id, granularity, period_start, participant_seconds,
  room_seconds, peak_participants, participants_joined, rooms_created, token_exchanges,
  api_requests, webhook_deliveries, webhook_failures)
SELECT tenant_id, 'hour', hour_start, participant_seconds, room_seconds, peak_participants,
  participants_joined, rooms_created, token_exchanges, api_requests, webhook_deliveries,
  webhook_failures
FROM usage_hours;

INSERT INTO usage_periods (tenant_id, granularity, period_start, participant_seconds,
  room_seconds, peak_participants, participants_joined, rooms_created, token_exchanges,
  api_requests, webhook_deliveries, webhook_failures)
SELECT tenant_id, 'day', (hour_start / 86400) * 86400, SUM(participant_seconds),
  SUM(room_seconds), MAX(peak_participants), SUM(participants_joined), SUM(rooms_created),
  SUM(token_exchanges), SUM(api_requests), SUM(webhook_deliveries), SUM(webhook_failures)
FROM usage_hours GROUP BY tenant_id, (hour_start / 86400) * 86400;

INSERT INTO usage_periods (tenant_id, granularity, period_start, participant_seconds,
  room_seconds, peak_participants, participants_joined, rooms_created, token_exchanges,
  api_requests, webhook_deliveries, webhook_failures)
SELECT tenant_id, 'month', CAST(EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(hour_start) AT TIME ZONE 'UTC')) AS BIGINT), SUM(participant_seconds),
  SUM(room_seconds), MAX(peak_participants), SUM(participants_joined), SUM(rooms_created),
  SUM(token_exchanges), SUM(api_requests), SUM(webhook_deliveries), SUM(webhook_failures)
FROM usage_hours GROUP BY tenant_id, CAST(EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(hour_start) AT TIME ZONE 'UTC')) AS BIGINT);

DROP TABLE usage_hours;
