//! Usage metering: a tenant's use per UTC hour (migration 0009 says how the time metrics
//! are integrated; docs/api.md "Usage metering" says what they mean).
//!
//! - [`record`] adds what one change used to the hours it covers: the time of the span the
//!   tenant's levels held before it (returned by `tenants::lock_metering`, which advanced
//!   the meter in the same statement that took the tenant's lock), the peak it leaves, and
//!   its counts. One statement, whatever the number of hours the span crosses.
//! - [`add_counters`] adds the request counters aggregated in memory, one row per tenant
//!   and hour, in one statement.
//! - [`hours`] and [`meter`] read a tenant's rows in a range and its running levels; the
//!   domain folds them into periods (`domain/usage.rs`).

use chalk_sdk::model::UsageMetrics;
use sqlx::any::AnyRow;

use super::rows::Timestamp;
use super::{Db, StoreResult, col, store_error};

pub const HOUR: i64 = 3600;

/// The start of the UTC hour holding `at`.
pub fn hour_floor(at: Timestamp) -> Timestamp {
    at.div_euclid(HOUR) * HOUR
}

/// The levels a tenant's time metrics ran at over `[from, to)`: what a change found when it
/// advanced the meter to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterSpan {
    pub from: Timestamp,
    pub to: Timestamp,
    /// Participants present.
    pub participants: i64,
    /// Rooms started (first join) and not ended.
    pub rooms: i64,
}

impl MeterSpan {
    /// No time: a change that only counts (a room created) at `at`.
    pub fn at(at: Timestamp) -> Self {
        Self {
            from: at,
            to: at,
            participants: 0,
            rooms: 0,
        }
    }
}

/// What one change adds to the hourly rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metered {
    pub span: MeterSpan,
    /// Participants present once the change is made (the hour of `span.to` peaks at least
    /// there).
    pub participants_after: i64,
    pub participants_joined: i64,
    pub rooms_created: i64,
}

/// Adds `metered` to the tenant's hours, in the transaction of the change (which holds the
/// tenant's lock, so two instances never count one second twice). Each hour from the one
/// holding `span.from` to the one holding `span.to` gains the seconds of the span within it
/// at the span's levels, and a peak of at least the span's participants where the span
/// covers any of it; the hour of `span.to` also gains the counts and the peak left after.
/// When the levels were zero, only that last hour is written.
pub async fn record(db: &mut Db, tenant_id: &str, metered: &Metered) -> StoreResult<()> {
    let span = metered.span;
    let last = hour_floor(span.to);
    let first = if span.participants > 0 || span.rooms > 0 {
        hour_floor(span.from.min(span.to))
    } else {
        last
    };
    if span.participants == 0
        && span.rooms == 0
        && metered.participants_after == 0
        && metered.participants_joined == 0
        && metered.rooms_created == 0
    {
        return Ok(());
    }
    sqlx::query(
        "WITH RECURSIVE hours (h) AS ( \
           SELECT $2 UNION ALL SELECT h + 3600 FROM hours WHERE h < $3 \
         ), spans (h, s) AS ( \
           SELECT h, (CASE WHEN h + 3600 < $5 THEN h + 3600 ELSE $5 END) \
                   - (CASE WHEN h > $4 THEN h ELSE $4 END) FROM hours \
         ) \
         INSERT INTO usage_hours (tenant_id, hour_start, participant_seconds, room_seconds, \
           peak_participants, participants_joined, rooms_created) \
         SELECT $1, h, $6 * s, $7 * s, \
           CASE WHEN h = $3 AND $8 > (CASE WHEN s > 0 THEN $6 ELSE 0 END) THEN $8 \
                WHEN s > 0 THEN $6 ELSE 0 END, \
           CASE WHEN h = $3 THEN $9 ELSE 0 END, \
           CASE WHEN h = $3 THEN $10 ELSE 0 END \
         FROM spans WHERE true \
         ON CONFLICT (tenant_id, hour_start) DO UPDATE SET \
           participant_seconds = usage_hours.participant_seconds + excluded.participant_seconds, \
           room_seconds = usage_hours.room_seconds + excluded.room_seconds, \
           peak_participants = CASE WHEN excluded.peak_participants > usage_hours.peak_participants \
             THEN excluded.peak_participants ELSE usage_hours.peak_participants END, \
           participants_joined = usage_hours.participants_joined + excluded.participants_joined, \
           rooms_created = usage_hours.rooms_created + excluded.rooms_created",
    )
    .bind(tenant_id)
    .bind(first)
    .bind(last)
    .bind(span.from.min(span.to))
    .bind(span.to)
    .bind(span.participants)
    .bind(span.rooms)
    .bind(metered.participants_after)
    .bind(metered.participants_joined)
    .bind(metered.rooms_created)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Counters aggregated in memory for one tenant and hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub token_exchanges: i64,
    pub api_requests: i64,
    pub webhook_deliveries: i64,
    pub webhook_failures: i64,
}

impl Counters {
    pub fn is_zero(&self) -> bool {
        *self == Counters::default()
    }
}

/// Adds counters to their tenants' hours: one statement for the whole batch. Rows are
/// written in the order given; callers sort by (tenant, hour), so two instances flushing
/// at once lock rows in the same order and never deadlock.
pub async fn add_counters(db: &mut Db, batch: &[(String, Timestamp, Counters)]) -> StoreResult<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut sql = String::from(
        "INSERT INTO usage_hours (tenant_id, hour_start, token_exchanges, api_requests, \
         webhook_deliveries, webhook_failures) VALUES ",
    );
    for i in 0..batch.len() {
        let n = i * 6;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${})",
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5,
            n + 6
        ));
    }
    sql.push_str(
        " ON CONFLICT (tenant_id, hour_start) DO UPDATE SET \
         token_exchanges = usage_hours.token_exchanges + excluded.token_exchanges, \
         api_requests = usage_hours.api_requests + excluded.api_requests, \
         webhook_deliveries = usage_hours.webhook_deliveries + excluded.webhook_deliveries, \
         webhook_failures = usage_hours.webhook_failures + excluded.webhook_failures",
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (tenant_id, hour, c) in batch {
        query = query
            .bind(tenant_id.as_str())
            .bind(hour_floor(*hour))
            .bind(c.token_exchanges)
            .bind(c.api_requests)
            .bind(c.webhook_deliveries)
            .bind(c.webhook_failures);
    }
    query.execute(db.conn()?).await.map_err(store_error)?;
    Ok(())
}

/// One stored hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourRow {
    pub hour_start: Timestamp,
    pub metrics: UsageMetrics,
}

fn hour_from_row(row: &AnyRow) -> StoreResult<HourRow> {
    Ok(HourRow {
        hour_start: col(row, "hour_start")?,
        metrics: UsageMetrics {
            participant_seconds: col(row, "participant_seconds")?,
            room_seconds: col(row, "room_seconds")?,
            peak_participants: col(row, "peak_participants")?,
            participants_joined: col(row, "participants_joined")?,
            rooms_created: col(row, "rooms_created")?,
            token_exchanges: col(row, "token_exchanges")?,
            api_requests: col(row, "api_requests")?,
            webhook_deliveries: col(row, "webhook_deliveries")?,
            webhook_failures: col(row, "webhook_failures")?,
        },
    })
}

/// A tenant's stored usage within each of `periods` (see [`period_sums`]).
pub async fn hours(
    db: &mut Db,
    tenant_id: &str,
    periods: &[(Timestamp, Timestamp)],
) -> StoreResult<Vec<HourRow>> {
    let mut sums = period_sums(db, &[tenant_id.to_owned()], periods).await?;
    Ok(sums.remove(tenant_id).unwrap_or_default())
}

/// The stored usage of each of `tenant_ids` within each of `periods` (contiguous
/// `[start, end)` spans, oldest first), summed in SQL (the peak as the maximum): per
/// tenant, one row per period that holds any, its `hour_start` the period's start. A month
/// by day costs 30 rows a tenant whatever its history, not the 720 hourly rows beneath them.
pub async fn period_sums(
    db: &mut Db,
    tenant_ids: &[String],
    periods: &[(Timestamp, Timestamp)],
) -> StoreResult<std::collections::HashMap<String, Vec<HourRow>>> {
    let mut by_tenant: std::collections::HashMap<String, Vec<HourRow>> = Default::default();
    if tenant_ids.is_empty() || periods.is_empty() {
        return Ok(by_tenant);
    }
    let values = (0..periods.len())
        .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    let tenants = (0..tenant_ids.len())
        .map(|i| format!("${}", 2 * periods.len() + i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let sum = |c: &str| format!("CAST(SUM(h.{c}) AS BIGINT) AS {c}");
    let sql = format!(
        "WITH p (s, e) AS (VALUES {values}) \
         SELECT h.tenant_id, p.s AS hour_start, {}, {}, \
           MAX(h.peak_participants) AS peak_participants, {}, {}, {}, {}, {}, {} \
         FROM p JOIN usage_hours h ON h.tenant_id IN ({tenants}) AND h.hour_start >= p.s \
           AND h.hour_start < p.e \
         GROUP BY h.tenant_id, p.s ORDER BY h.tenant_id, p.s",
        sum("participant_seconds"),
        sum("room_seconds"),
        sum("participants_joined"),
        sum("rooms_created"),
        sum("token_exchanges"),
        sum("api_requests"),
        sum("webhook_deliveries"),
        sum("webhook_failures"),
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for &(start, end) in periods {
        query = query.bind(start).bind(end);
    }
    for id in tenant_ids {
        query = query.bind(id.as_str());
    }
    for row in query.fetch_all(db.conn()?).await.map_err(store_error)? {
        let tenant_id: String = col(&row, "tenant_id")?;
        by_tenant
            .entry(tenant_id)
            .or_default()
            .push(hour_from_row(&row)?);
    }
    Ok(by_tenant)
}

/// A tenant's running levels: since `at`, `participants` present and `rooms` started, and
/// none of that time written into its hours yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Meter {
    pub at: Timestamp,
    pub participants: i64,
    pub rooms: i64,
}

pub(super) fn meter_from_row(row: &AnyRow) -> StoreResult<Meter> {
    Ok(Meter {
        at: col(row, "metered_at")?,
        participants: col(row, "active_participants")?,
        rooms: col(row, "started_rooms")?,
    })
}

/// The tenant's running levels; `None` when no such tenant exists (any longer).
pub async fn meter(db: &mut Db, tenant_id: &str) -> StoreResult<Option<Meter>> {
    sqlx::query("SELECT metered_at, active_participants, started_rooms FROM tenants WHERE id = $1")
        .bind(tenant_id)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(meter_from_row)
        .transpose()
}

/// A tenant whose usage can be read: a live one, or a deleted one whose history is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeteredTenant {
    pub seq: i64,
    pub tenant_id: String,
    pub external_id: Option<String>,
    /// `None` for a deleted tenant: nothing runs any more.
    pub meter: Option<Meter>,
}

/// Tenants, live and deleted with kept usage, with `seq > after_seq`, in `seq` order; only
/// those that existed at some time in `[from, to)`.
pub async fn tenants(
    db: &mut Db,
    from: Timestamp,
    to: Timestamp,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<MeteredTenant>> {
    let rows = sqlx::query(
        "SELECT seq, id AS tenant_id, external_id, metered_at, active_participants, \
           started_rooms, CAST(1 AS BIGINT) AS live FROM tenants WHERE seq > $1 AND created_at < $3 \
         UNION ALL \
         SELECT tenant_seq, tenant_id, external_id, 0, 0, 0, CAST(0 AS BIGINT) FROM usage_tenants \
           WHERE tenant_seq > $1 AND created_at < $3 AND deleted_at >= $2 \
         ORDER BY seq LIMIT $4",
    )
    .bind(after_seq)
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(db.conn()?)
    .await
    .map_err(store_error)?;
    rows.iter()
        .map(|row| {
            let live: i64 = col(row, "live")?;
            Ok(MeteredTenant {
                seq: col(row, "seq")?,
                tenant_id: col(row, "tenant_id")?,
                external_id: col(row, "external_id")?,
                meter: if live == 1 {
                    Some(meter_from_row(row)?)
                } else {
                    None
                },
            })
        })
        .collect()
}

/// A deleted tenant whose usage is kept, by id.
pub async fn deleted_tenant(db: &mut Db, tenant_id: &str) -> StoreResult<Option<MeteredTenant>> {
    sqlx::query(
        "SELECT tenant_seq AS seq, tenant_id, external_id FROM usage_tenants WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_optional(db.conn()?)
    .await
    .map_err(store_error)?
    .map(|row| {
        Ok(MeteredTenant {
            seq: col(&row, "seq")?,
            tenant_id: col(&row, "tenant_id")?,
            external_id: col(&row, "external_id")?,
            meter: None,
        })
    })
    .transpose()
}

/// Keeps a tenant's identity for its usage history as it is deleted (the tenant row is
/// still there; the caller deletes it next, in the same transaction).
pub async fn keep_deleted(db: &mut Db, tenant_id: &str, now: Timestamp) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO usage_tenants (tenant_id, tenant_seq, external_id, created_at, deleted_at) \
         SELECT id, seq, external_id, created_at, $2 FROM tenants WHERE id = $1 \
         ON CONFLICT (tenant_id) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(now)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// Before a tenant is deleted, in the same transaction: writes the time its levels ran
/// since the last change up to `at` (who was still present counts until the deletion), and
/// keeps its identity for its history. False when there is no such tenant.
pub async fn close(db: &mut Db, tenant_id: &str, at: Timestamp) -> StoreResult<bool> {
    let Some((_, span)) =
        super::tenants::lock_metering(db, tenant_id, Default::default(), at).await?
    else {
        return Ok(false);
    };
    record(
        db,
        tenant_id,
        &Metered {
            span,
            participants_after: 0,
            participants_joined: 0,
            rooms_created: 0,
        },
    )
    .await?;
    keep_deleted(db, tenant_id, span.to).await?;
    Ok(true)
}

/// What purging a deleted tenant's usage found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeOutcome {
    Purged,
    /// The tenant still exists: its usage is kept while it does.
    TenantExists,
    /// Nothing is known of this tenant.
    NotFound,
}

/// Deletes a deleted tenant's usage history, its alerts' record and its kept identity.
pub async fn purge(db: &mut Db, tenant_id: &str) -> StoreResult<PurgeOutcome> {
    let exists = sqlx::query("SELECT 1 FROM tenants WHERE id = $1")
        .bind(tenant_id)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?;
    if exists.is_some() {
        return Ok(PurgeOutcome::TenantExists);
    }
    let mut found = 0;
    for sql in [
        "DELETE FROM usage_hours WHERE tenant_id = $1",
        "DELETE FROM usage_alerts_fired WHERE tenant_id = $1",
        "DELETE FROM usage_tenants WHERE tenant_id = $1",
    ] {
        found += sqlx::query(sql)
            .bind(tenant_id)
            .execute(db.conn()?)
            .await
            .map_err(store_error)?
            .rows_affected();
    }
    Ok(if found > 0 {
        PurgeOutcome::Purged
    } else {
        PurgeOutcome::NotFound
    })
}

/// A tenant whose config holds usage alerts, with its running levels.
#[derive(Debug, Clone)]
pub struct AlertingTenant {
    pub tenant_id: String,
    pub config: super::stored_config::StoredConfig,
    pub meter: Meter,
}

/// Tenants whose config holds usage alerts (the stored config names `usage_alerts` only
/// when the list is not empty).
pub async fn alerting_tenants(db: &mut Db) -> StoreResult<Vec<AlertingTenant>> {
    let rows = sqlx::query(
        "SELECT id, config, metered_at, active_participants, started_rooms FROM tenants \
         WHERE config LIKE '%\"usage_alerts\"%' ORDER BY seq",
    )
    .fetch_all(db.conn()?)
    .await
    .map_err(store_error)?;
    rows.iter()
        .map(|row| {
            Ok(AlertingTenant {
                tenant_id: col(row, "id")?,
                config: super::tenants::config_from_json(col(row, "config")?)?,
                meter: meter_from_row(row)?,
            })
        })
        .collect()
}

/// The tenant's stored metrics over the hours starting in `[from, to)`: sums, and the
/// peak's maximum. At most one row per hour of the range is read.
pub async fn totals(
    db: &mut Db,
    tenant_id: &str,
    from: Timestamp,
    to: Timestamp,
) -> StoreResult<UsageMetrics> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(participant_seconds), 0) AS BIGINT) AS participant_seconds, \
           CAST(COALESCE(SUM(room_seconds), 0) AS BIGINT) AS room_seconds, \
           CAST(COALESCE(MAX(peak_participants), 0) AS BIGINT) AS peak_participants, \
           CAST(COALESCE(SUM(participants_joined), 0) AS BIGINT) AS participants_joined, \
           CAST(COALESCE(SUM(rooms_created), 0) AS BIGINT) AS rooms_created, \
           CAST(COALESCE(SUM(token_exchanges), 0) AS BIGINT) AS token_exchanges, \
           CAST(COALESCE(SUM(api_requests), 0) AS BIGINT) AS api_requests, \
           CAST(COALESCE(SUM(webhook_deliveries), 0) AS BIGINT) AS webhook_deliveries, \
           CAST(COALESCE(SUM(webhook_failures), 0) AS BIGINT) AS webhook_failures, \
           CAST(0 AS BIGINT) AS hour_start \
         FROM usage_hours WHERE tenant_id = $1 AND hour_start >= $2 AND hour_start < $3",
    )
    .bind(tenant_id)
    .bind(from)
    .bind(to)
    .fetch_one(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(hour_from_row(&row)?.metrics)
}

/// The alerts of a tenant that fired for periods starting at or after `since`, as
/// `(metric, period, threshold, period_start)`.
pub async fn fired(
    db: &mut Db,
    tenant_id: &str,
    since: Timestamp,
) -> StoreResult<Vec<(String, String, i64, Timestamp)>> {
    let rows = sqlx::query(
        "SELECT metric, period, threshold, period_start FROM usage_alerts_fired \
         WHERE tenant_id = $1 AND period_start >= $2",
    )
    .bind(tenant_id)
    .bind(since)
    .fetch_all(db.conn()?)
    .await
    .map_err(store_error)?;
    rows.iter()
        .map(|row| {
            Ok((
                col(row, "metric")?,
                col(row, "period")?,
                col(row, "threshold")?,
                col(row, "period_start")?,
            ))
        })
        .collect()
}

/// Claims the firing of one alert for one period: true for the one transaction, across
/// instances, that inserted the row (the others find it and do nothing).
pub async fn claim_firing(
    db: &mut Db,
    tenant_id: &str,
    alert: (&str, &str, i64),
    period_start: Timestamp,
    event_id: &str,
) -> StoreResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO usage_alerts_fired (tenant_id, metric, period, threshold, period_start, \
         event_id) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, metric, period, threshold, period_start) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(alert.0)
    .bind(alert.1)
    .bind(alert.2)
    .bind(period_start)
    .bind(event_id)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(inserted.rows_affected() == 1)
}
