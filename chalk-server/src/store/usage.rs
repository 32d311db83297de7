//! Usage metering: a tenant's use per UTC hour, day and calendar month (migrations 0009
//! and 0010 say how the time metrics are integrated and kept; docs/api.md "Usage metering"
//! says what they mean).
//!
//! - [`record`] adds what one change used to the hours it covers, and to their days and
//!   months: the time of the span the tenant's levels held before it (returned by
//!   `tenants::lock_metering`, which advanced the meter in the same statement that took
//!   the tenant's lock), the peak it leaves, and its counts. One statement, whatever the
//!   number of hours the span crosses.
//! - [`add_counters`] adds the request counters aggregated in memory to their hours, days
//!   and months, in one statement.
//! - [`periods`] and [`meter`] read a tenant's rows of one granularity in a range and its
//!   running levels; the domain folds them into periods (`domain/usage.rs`). A read costs
//!   the periods asked for: a day is one row, not its 24 hours.

use std::collections::{BTreeMap, HashMap};

use chalk_sdk::model::{Granularity, UsageMetrics};
use chrono::{Datelike, Months, TimeZone, Utc};
use sqlx::any::AnyRow;

use super::rows::Timestamp;
use super::{Db, StoreResult, col, store_error};

pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;

/// The periods every write adds to, in the order their rows are written and locked.
const GRANULARITIES: [Granularity; 3] = [Granularity::Hour, Granularity::Day, Granularity::Month];

/// The start of the UTC hour holding `at`.
pub fn hour_floor(at: Timestamp) -> Timestamp {
    at.div_euclid(HOUR) * HOUR
}

/// The start of the period of `granularity` (a UTC hour, day or calendar month) holding
/// `at`.
pub fn period_start(at: Timestamp, granularity: Granularity) -> Timestamp {
    match granularity {
        Granularity::Hour => hour_floor(at),
        Granularity::Day => at.div_euclid(DAY) * DAY,
        Granularity::Month => {
            let t = Utc.timestamp_opt(at, 0).single().unwrap_or_default();
            Utc.with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0)
                .single()
                .map_or(at, |m| m.timestamp())
        }
    }
}

/// The start of the period after the one starting at `start`.
pub fn period_end(start: Timestamp, granularity: Granularity) -> Timestamp {
    match granularity {
        Granularity::Hour => start + HOUR,
        Granularity::Day => start + DAY,
        Granularity::Month => Utc
            .timestamp_opt(start, 0)
            .single()
            .and_then(|t| t.checked_add_months(Months::new(1)))
            .map_or(start + 31 * DAY, |t| t.timestamp()),
    }
}

/// The calendar months holding any of the hours `first..=last`, as `[start, end)`.
fn months_over(first: Timestamp, last: Timestamp) -> Vec<(Timestamp, Timestamp)> {
    let mut months = Vec::new();
    let mut start = period_start(first, Granularity::Month);
    while start <= last {
        let end = period_end(start, Granularity::Month);
        months.push((start, end));
        start = end;
    }
    months
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

/// What one change adds to the tenant's periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metered {
    pub span: MeterSpan,
    /// Participants present once the change is made (the hour of `span.to` peaks at least
    /// there).
    pub participants_after: i64,
    pub participants_joined: i64,
    pub rooms_created: i64,
}

/// The metrics' columns after the key, in the tables' order, and how an upsert adds a
/// new row's value to the stored one (the peak: the larger).
const METRICS: [&str; 9] = [
    "participant_seconds",
    "room_seconds",
    "peak_participants",
    "participants_joined",
    "rooms_created",
    "token_exchanges",
    "api_requests",
    "webhook_deliveries",
    "webhook_failures",
];

fn upsert_set(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| {
            if *c == "peak_participants" {
                format!(
                    "{c} = CASE WHEN excluded.{c} > usage_periods.{c} THEN excluded.{c} \
                     ELSE usage_periods.{c} END"
                )
            } else {
                format!("{c} = usage_periods.{c} + excluded.{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds `metered` to the tenant's hours, days and months, in the transaction of the change
/// (which holds the tenant's lock, so two instances never count one second twice). Each
/// hour from the one holding `span.from` to the one holding `span.to` gains the seconds of
/// the span within it at the span's levels, and a peak of at least the span's participants
/// where the span covers any of it; the hour of `span.to` also gains the counts and the
/// peak left after. When the levels were zero, only that last hour is written. The days
/// and months holding those hours gain their sums (the peak: the hours' maximum) in the
/// same statement, in that order (see [`add_counters`] on lock order).
///
/// Levels may be negative: a correction taking back time already counted (a participant
/// whose tokens expired before the meter last moved). Its peaks count as zero, so it never
/// lowers a stored peak.
pub async fn record(db: &mut Db, tenant_id: &str, metered: &Metered) -> StoreResult<()> {
    let span = metered.span;
    let last = hour_floor(span.to);
    let first = if span.participants != 0 || span.rooms != 0 {
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
    let months = months_over(first, last);
    let month_values = (0..months.len())
        .map(|i| format!("(${}, ${})", 11 + 2 * i, 12 + 2 * i))
        .collect::<Vec<_>>()
        .join(", ");
    let sum = |c: &str| format!("CAST(SUM({c}) AS BIGINT)");
    let sums = format!(
        "{}, {}, MAX(peak), {}, {}",
        sum("ps"),
        sum("rs"),
        sum("joined"),
        sum("created")
    );
    let sql = format!(
        "WITH RECURSIVE hours (h) AS ( \
           SELECT $2 UNION ALL SELECT h + 3600 FROM hours WHERE h < $3 \
         ), spans (h, s) AS ( \
           SELECT h, (CASE WHEN h + 3600 < $5 THEN h + 3600 ELSE $5 END) \
                   - (CASE WHEN h > $4 THEN h ELSE $4 END) FROM hours \
         ), levels (h, s, lvl) AS ( \
           SELECT h, s, CASE WHEN s > 0 AND $6 > 0 THEN $6 ELSE 0 END FROM spans \
         ), used (h, ps, rs, peak, joined, created) AS ( \
           SELECT h, $6 * s, $7 * s, \
             CASE WHEN h = $3 AND $8 > lvl THEN $8 ELSE lvl END, \
             CASE WHEN h = $3 THEN $9 ELSE 0 END, \
             CASE WHEN h = $3 THEN $10 ELSE 0 END \
           FROM levels \
         ), months (s, e) AS (VALUES {month_values}) \
         INSERT INTO usage_periods (tenant_id, granularity, period_start, participant_seconds, \
           room_seconds, peak_participants, participants_joined, rooms_created) \
         SELECT $1, g, p, ps, rs, peak, joined, created FROM ( \
           SELECT 0 AS r, 'hour' AS g, h AS p, ps, rs, peak, joined, created FROM used \
           UNION ALL \
           SELECT 1, 'day', (h / 86400) * 86400, {sums} FROM used GROUP BY (h / 86400) * 86400 \
           UNION ALL \
           SELECT 2, 'month', m.s, {sums} FROM used, months m \
             WHERE used.h >= m.s AND used.h < m.e GROUP BY m.s \
         ) AS w WHERE true ORDER BY r, p \
         ON CONFLICT (tenant_id, granularity, period_start) DO UPDATE SET {}",
        upsert_set(&METRICS[..5])
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(first)
        .bind(last)
        .bind(span.from.min(span.to))
        .bind(span.to)
        .bind(span.participants)
        .bind(span.rooms)
        .bind(metered.participants_after)
        .bind(metered.participants_joined)
        .bind(metered.rooms_created);
    for (start, end) in months {
        query = query.bind(start).bind(end);
    }
    query.execute(db.conn()?).await.map_err(store_error)?;
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

/// Adds counters to their tenants' hours, days and months: one statement for the whole
/// batch. Rows are written in (tenant, hours then days then months, period) order — the
/// order [`record`] writes a tenant's rows in — so two writers (instances flushing, a
/// change being recorded) lock rows in the same order and never deadlock.
pub async fn add_counters(db: &mut Db, batch: &[(String, Timestamp, Counters)]) -> StoreResult<()> {
    let mut rows: BTreeMap<(&str, usize, Timestamp), Counters> = BTreeMap::new();
    for (tenant_id, at, c) in batch {
        for (rank, granularity) in GRANULARITIES.into_iter().enumerate() {
            let key = (tenant_id.as_str(), rank, period_start(*at, granularity));
            let row = rows.entry(key).or_default();
            row.token_exchanges += c.token_exchanges;
            row.api_requests += c.api_requests;
            row.webhook_deliveries += c.webhook_deliveries;
            row.webhook_failures += c.webhook_failures;
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let values = (0..rows.len())
        .map(|i| {
            let n = i * 7;
            format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6,
                n + 7
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO usage_periods (tenant_id, granularity, period_start, token_exchanges, \
         api_requests, webhook_deliveries, webhook_failures) VALUES {values} \
         ON CONFLICT (tenant_id, granularity, period_start) DO UPDATE SET {}",
        upsert_set(&METRICS[5..])
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for ((tenant_id, rank, start), c) in &rows {
        query = query
            .bind(*tenant_id)
            .bind(GRANULARITIES[*rank].as_str())
            .bind(*start)
            .bind(c.token_exchanges)
            .bind(c.api_requests)
            .bind(c.webhook_deliveries)
            .bind(c.webhook_failures);
    }
    query.execute(db.conn()?).await.map_err(store_error)?;
    Ok(())
}

/// One stored period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodRow {
    pub start: Timestamp,
    pub metrics: UsageMetrics,
}

fn metrics_from_row(row: &AnyRow) -> StoreResult<UsageMetrics> {
    Ok(UsageMetrics {
        participant_seconds: col(row, "participant_seconds")?,
        room_seconds: col(row, "room_seconds")?,
        peak_participants: col(row, "peak_participants")?,
        participants_joined: col(row, "participants_joined")?,
        rooms_created: col(row, "rooms_created")?,
        token_exchanges: col(row, "token_exchanges")?,
        api_requests: col(row, "api_requests")?,
        webhook_deliveries: col(row, "webhook_deliveries")?,
        webhook_failures: col(row, "webhook_failures")?,
    })
}

/// A tenant's stored periods of `granularity` starting in `[from, to)` (see [`periods`]).
pub async fn tenant_periods(
    db: &mut Db,
    tenant_id: &str,
    granularity: Granularity,
    (from, to): (Timestamp, Timestamp),
) -> StoreResult<Vec<PeriodRow>> {
    let mut rows = periods(db, &[tenant_id.to_owned()], granularity, (from, to)).await?;
    Ok(rows.remove(tenant_id).unwrap_or_default())
}

/// The stored periods of `granularity` starting in `[from, to)` of each of `tenant_ids`,
/// oldest first; a period with no use has no row. One row read per period: a month by day
/// is 30 rows a tenant whatever its history.
pub async fn periods(
    db: &mut Db,
    tenant_ids: &[String],
    granularity: Granularity,
    (from, to): (Timestamp, Timestamp),
) -> StoreResult<HashMap<String, Vec<PeriodRow>>> {
    let mut by_tenant: HashMap<String, Vec<PeriodRow>> = HashMap::new();
    if tenant_ids.is_empty() || to <= from {
        return Ok(by_tenant);
    }
    let tenants = (0..tenant_ids.len())
        .map(|i| format!("${}", i + 4))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT tenant_id, period_start, {} FROM usage_periods \
         WHERE granularity = $1 AND period_start >= $2 AND period_start < $3 \
           AND tenant_id IN ({tenants}) \
         ORDER BY tenant_id, period_start",
        METRICS.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(granularity.as_str())
        .bind(from)
        .bind(to);
    for id in tenant_ids {
        query = query.bind(id.as_str());
    }
    for row in query.fetch_all(db.conn()?).await.map_err(store_error)? {
        let tenant_id: String = col(&row, "tenant_id")?;
        by_tenant.entry(tenant_id).or_default().push(PeriodRow {
            start: col(&row, "period_start")?,
            metrics: metrics_from_row(&row)?,
        });
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
        "DELETE FROM usage_periods WHERE tenant_id = $1",
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
