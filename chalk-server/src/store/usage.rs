//! Usage metering: a tenant's use per UTC hour, day and calendar month (migrations 0009,
//! 0010 and 0012 say how the time metrics are integrated and kept; docs/api.md "Usage
//! metering" says what they mean).
//!
//! - [`advance`] meters a change of the tenant's levels (a join, a leave, a kick, an
//!   expiry, a room's end). Within the hour the meter stands in, the lock's own statement
//!   (`tenants::lock_metering`) adds the span the levels held, the level and the joins to
//!   the open hour kept on the tenant row; the first change of a later hour writes the
//!   open hour and the hours the span crossed to their rows, and opens its own.
//! - [`record`] adds what a change used straight to the hours it covers and their days and
//!   months (a room created, time taken back after an expiry); [`add_counters`] adds the
//!   request counters aggregated in memory.
//! - All of them split in Rust and write through one multi-row upsert (`add_gains`).
//! - Reads of the periods are `store/usage_reads.rs`; the domain folds them with the
//!   running levels and the open hour (`domain/usage.rs`). A read costs the periods asked
//!   for: a day is one row, not its 24 hours.

use std::collections::BTreeMap;

use chalk_sdk::model::{Granularity, UsageMetrics};
use chrono::{Datelike, Months, TimeZone, Utc};

use super::rows::Timestamp;
pub use super::rows::{HOUR, hour_floor};
use super::tenants::{METER_COLUMNS, meter_from_row};
pub use super::tenants::{Meter, MeterSpan, OpenHour};
use super::{Db, StoreResult, col, store_error};

pub const DAY: i64 = 86_400;

/// The periods every write adds to, in the order their rows are written and locked.
const GRANULARITIES: [Granularity; 3] = [Granularity::Hour, Granularity::Day, Granularity::Month];

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

/// What one change adds to the tenant's periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metered {
    pub span: MeterSpan,
    pub rooms_created: i64,
}

/// The metrics' columns after the key, in the tables' order.
pub(super) const METRICS: [&str; 9] = [
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

/// What rows gain, keyed by (tenant, rank in [`GRANULARITIES`], period start): in key
/// order, a tenant's hours, then its days, then its months.
type Gains<'a> = BTreeMap<(&'a str, usize, Timestamp), UsageMetrics>;

/// Adds `gain` to the row of `tenant_id`'s hour holding `hour`, and to its day and month.
fn gain<'a>(gains: &mut Gains<'a>, tenant_id: &'a str, hour: Timestamp, gain: &UsageMetrics) {
    for (rank, granularity) in GRANULARITIES.into_iter().enumerate() {
        gains
            .entry((tenant_id, rank, period_start(hour, granularity)))
            .or_default()
            .absorb(gain);
    }
}

/// Rows per statement: 12 parameters each, far below either database's limit.
const ROWS_PER_STATEMENT: usize = 500;

/// Writes `gains`: each row is inserted or added to (sums; the peak, the larger). One
/// statement for up to 500 rows, written in key order — so every writer (changes being
/// recorded, instances flushing) locks a tenant's rows hours-then-days-then-months, in
/// time order, and two of them never deadlock.
async fn add_gains(db: &mut Db, gains: &Gains<'_>) -> StoreResult<()> {
    let rows: Vec<_> = gains.iter().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let width = 3 + METRICS.len();
        let values = (0..chunk.len())
            .map(|i| {
                let params = (1..=width)
                    .map(|k| format!("${}", i * width + k))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("({params})")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let set = METRICS
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
            .join(", ");
        let sql = format!(
            "INSERT INTO usage_periods (tenant_id, granularity, period_start, {}) VALUES {values} \
             ON CONFLICT (tenant_id, granularity, period_start) DO UPDATE SET {set}",
            METRICS.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for ((tenant_id, rank, start), m) in chunk {
            query = query
                .bind(*tenant_id)
                .bind(GRANULARITIES[*rank].as_str())
                .bind(*start)
                .bind(m.participant_seconds)
                .bind(m.room_seconds)
                .bind(m.peak_participants)
                .bind(m.participants_joined)
                .bind(m.rooms_created)
                .bind(m.token_exchanges)
                .bind(m.api_requests)
                .bind(m.webhook_deliveries)
                .bind(m.webhook_failures);
        }
        query.execute(db.conn()?).await.map_err(store_error)?;
    }
    Ok(())
}

/// What `metered` adds to each hour it covers: each hour from the one holding `span.from`
/// to the one holding `span.to` gains the seconds of the span within it at the span's
/// levels, and a peak of at least the span's participants where the span covers any of
/// it; the hour of `span.to` also gains the rooms created. When the levels were zero, only
/// that last hour.
///
/// Levels may be negative: a correction taking back time already counted (a participant
/// whose tokens expired before the meter last moved). Its peaks count as zero, so it never
/// lowers a stored peak.
pub fn hours_gained(metered: &Metered) -> Vec<(Timestamp, UsageMetrics)> {
    let span = metered.span;
    let (from, to) = (span.from.min(span.to), span.to);
    let last = hour_floor(to);
    let first = if span.participants != 0 || span.rooms != 0 {
        hour_floor(from)
    } else {
        last
    };
    let mut hours = Vec::new();
    let mut hour = first;
    while hour <= last {
        let seconds = (hour + HOUR).min(to) - hour.max(from);
        let level = if seconds > 0 && span.participants > 0 {
            span.participants
        } else {
            0
        };
        let mut gained = UsageMetrics {
            participant_seconds: span.participants * seconds,
            room_seconds: span.rooms * seconds,
            peak_participants: level,
            ..UsageMetrics::default()
        };
        if hour == last {
            gained.rooms_created = metered.rooms_created;
        }
        hours.push((hour, gained));
        hour += HOUR;
    }
    hours
}

/// Adds `metered` to the tenant's hours ([`hours_gained`]) and to their days and months
/// (the sums; the peak, the hours' maximum), in the transaction of the change (which holds
/// the tenant's lock, so two instances never count one second twice). One statement, but
/// for a span over more than ~20 days of a quiet tenant.
pub async fn record(db: &mut Db, tenant_id: &str, metered: &Metered) -> StoreResult<()> {
    let span = metered.span;
    if span.participants == 0 && span.rooms == 0 && metered.rooms_created == 0 {
        return Ok(());
    }
    let mut gains = Gains::new();
    for (hour, gained) in hours_gained(metered) {
        gain(&mut gains, tenant_id, hour, &gained);
    }
    add_gains(db, &gains).await
}

/// A metered change of the tenant's levels by `delta` at `at`, admitting `joined`
/// participants (a join, a leave, a kick, an expiry, a room's end), under the tenant's
/// lock: advances the meter and meters the span the levels held before it. Within the
/// open hour that is the lock's own statement (`tenants::lock_metering`); the first change
/// in a later hour writes the open hour and the hours the span crossed to their periods,
/// and opens its own hour. Returns the tenant, that span (its `to` is the time the change
/// is metered at) and the meter as the change leaves it; `None` when there is no tenant.
pub async fn advance(
    db: &mut Db,
    tenant_id: &str,
    delta: super::tenants::UsageDelta,
    at: Timestamp,
    joined: i64,
) -> StoreResult<Option<(super::rows::TenantRow, MeterSpan, Meter)>> {
    let Some((row, span, mut meter)) =
        super::tenants::lock_metering(db, tenant_id, delta, at, joined).await?
    else {
        return Ok(None);
    };
    if span.to >= meter.open.start + HOUR {
        let (closed, open) = close_hours(&meter.open, &span, joined);
        let mut gains = Gains::new();
        for (hour, gained) in closed {
            gain(&mut gains, tenant_id, hour, &gained);
        }
        add_gains(db, &gains).await?;
        super::tenants::open(db, tenant_id, &open).await?;
        meter.open = open;
    }
    Ok(Some((row, span, meter)))
}

/// A change in a later hour than the open one: what each hour before the change's gains
/// (the open hour with what it held, then the hours the span crossed), none of them empty,
/// and the change's hour as it opens (the span's part in it, and `joined`).
fn close_hours(
    open: &OpenHour,
    span: &MeterSpan,
    joined: i64,
) -> (Vec<(Timestamp, UsageMetrics)>, OpenHour) {
    let now_hour = hour_floor(span.to);
    let mut closed: BTreeMap<Timestamp, UsageMetrics> = BTreeMap::new();
    closed.entry(open.start).or_default().absorb(&UsageMetrics {
        participant_seconds: open.participant_seconds,
        room_seconds: open.room_seconds,
        peak_participants: open.peak,
        participants_joined: open.participants_joined,
        ..UsageMetrics::default()
    });
    let crossed = Metered {
        span: MeterSpan {
            to: now_hour.max(span.from),
            ..*span
        },
        rooms_created: 0,
    };
    for (hour, gained) in hours_gained(&crossed) {
        if hour < now_hour {
            closed.entry(hour).or_default().absorb(&gained);
        }
    }
    let running = span.to - now_hour.max(span.from);
    let opened = OpenHour {
        start: now_hour,
        participant_seconds: span.participants * running,
        room_seconds: span.rooms * running,
        peak: if running > 0 { span.participants } else { 0 },
        participants_joined: joined,
    };
    let closed = closed
        .into_iter()
        .filter(|(_, m)| *m != UsageMetrics::default())
        .collect();
    (closed, opened)
}

/// A change that lowers the tenant's levels by `delta` at `at` (a leave, a kick, an expiry,
/// a room's end): [`advance`]. Returns the span the levels held before it.
pub async fn lower_levels(
    db: &mut Db,
    tenant_id: &str,
    delta: super::tenants::UsageDelta,
    at: Timestamp,
) -> StoreResult<MeterSpan> {
    let (_, span, _) = advance(db, tenant_id, delta, at, 0)
        .await?
        .ok_or(super::StoreError::NotFound("tenant"))?;
    Ok(span)
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

/// Adds counters to their tenants' hours, days and months, in one statement (up to
/// about 160 tenant-hours; more in several).
pub async fn add_counters(db: &mut Db, batch: &[(String, Timestamp, Counters)]) -> StoreResult<()> {
    let mut gains = Gains::new();
    for (tenant_id, at, c) in batch {
        let gained = UsageMetrics {
            token_exchanges: c.token_exchanges,
            api_requests: c.api_requests,
            webhook_deliveries: c.webhook_deliveries,
            webhook_failures: c.webhook_failures,
            ..UsageMetrics::default()
        };
        gain(&mut gains, tenant_id, hour_floor(*at), &gained);
    }
    add_gains(db, &gains).await
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
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT seq, id AS tenant_id, external_id, {METER_COLUMNS}, CAST(1 AS BIGINT) AS live \
           FROM tenants WHERE seq > $1 AND created_at < $3 \
         UNION ALL \
         SELECT tenant_seq, tenant_id, external_id, 0, 0, 0, 0, 0, 0, 0, 0, CAST(0 AS BIGINT) \
           FROM usage_tenants WHERE tenant_seq > $1 AND created_at < $3 AND deleted_at >= $2 \
         ORDER BY seq LIMIT $4"
    )))
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

/// Before a tenant is deleted, in the same transaction: meters its levels up to `at` (who
/// was still present counts until the deletion), writes its open hour to its periods, and
/// keeps its identity for its history. False when there is no such tenant.
pub async fn close(db: &mut Db, tenant_id: &str, at: Timestamp) -> StoreResult<bool> {
    let Some((_, span, meter)) = advance(db, tenant_id, Default::default(), at, 0).await? else {
        return Ok(false);
    };
    let open = meter.open_use();
    if open != UsageMetrics::default() {
        let mut gains = Gains::new();
        gain(&mut gains, tenant_id, meter.open.start, &open);
        add_gains(db, &gains).await?;
    }
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

/// Tenants whose config holds usage alerts, found through `tenants_alerting` (migration
/// 0014): the check runs every few seconds, and reads only them.
fn alerting_tenants_query() -> String {
    format!("SELECT id, config, {METER_COLUMNS} FROM tenants WHERE alerting = 1 ORDER BY seq")
}

/// See [`alerting_tenants_query`].
pub async fn alerting_tenants(db: &mut Db) -> StoreResult<Vec<AlertingTenant>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(alerting_tenants_query()))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The alert check, every few seconds, reads the alerting tenants through their index on
    /// SQLite, not every tenant's row.
    #[tokio::test]
    async fn the_alert_check_reads_only_alerting_tenants() {
        let plan = crate::store::sqlite_query_plan(&alerting_tenants_query()).await;
        assert_eq!(plan, ["SCAN tenants USING INDEX tenants_alerting"]);
    }

    const T: Timestamp = 1_796_464_800; // 2026-12-05T10:00:00Z

    fn metered(from: Timestamp, to: Timestamp, participants: i64, rooms: i64) -> Metered {
        Metered {
            span: MeterSpan {
                from,
                to,
                participants,
                rooms,
            },
            rooms_created: 0,
        }
    }

    fn seconds_and_peaks(hours: &[(Timestamp, UsageMetrics)]) -> Vec<(Timestamp, i64, i64, i64)> {
        hours
            .iter()
            .map(|(h, m)| {
                (
                    h - T,
                    m.participant_seconds,
                    m.room_seconds,
                    m.peak_participants,
                )
            })
            .collect()
    }

    #[test]
    fn a_span_is_split_across_the_hours_it_crosses_and_the_last_takes_the_count() {
        let mut m = metered(T + 1800, T + 2 * HOUR + 900, 2, 1);
        m.rooms_created = 1;
        let hours = hours_gained(&m);
        assert_eq!(
            seconds_and_peaks(&hours),
            vec![
                (0, 2 * 1800, 1800, 2),
                (HOUR, 2 * 3600, 3600, 2),
                (2 * HOUR, 2 * 900, 900, 2),
            ]
        );
        let created: Vec<_> = hours.iter().map(|(_, m)| m.rooms_created).collect();
        assert_eq!(created, vec![0, 0, 1]);
    }

    #[test]
    fn a_span_ending_on_the_hour_writes_that_hour_its_count_only() {
        let mut m = metered(T + 1800, T + HOUR, 1, 1);
        m.rooms_created = 1;
        let hours = hours_gained(&m);
        assert_eq!(
            seconds_and_peaks(&hours),
            vec![(0, 1800, 1800, 1), (HOUR, 0, 0, 0)]
        );
        assert_eq!(hours[1].1.rooms_created, 1);
    }

    #[test]
    fn a_change_in_a_later_hour_closes_the_open_one_and_the_hours_between() {
        // 10:00 is open (600 participant-seconds, up to 3 present, 2 joins); the meter
        // stands at 10:40 with 2 present and 1 room; a change comes at 12:15.
        let open = OpenHour {
            start: T,
            participant_seconds: 600,
            room_seconds: 300,
            peak: 3,
            participants_joined: 2,
        };
        let span = MeterSpan {
            from: T + 2400,
            to: T + 2 * HOUR + 900,
            participants: 2,
            rooms: 1,
        };
        let (closed, opened) = close_hours(&open, &span, 1);
        assert_eq!(
            seconds_and_peaks(&closed),
            vec![
                (0, 600 + 2 * 1200, 300 + 1200, 3),
                (HOUR, 2 * 3600, 3600, 2)
            ]
        );
        assert_eq!(closed[0].1.participants_joined, 2);
        assert_eq!(
            opened,
            OpenHour {
                start: T + 2 * HOUR,
                participant_seconds: 2 * 900,
                room_seconds: 900,
                peak: 2,
                participants_joined: 1,
            }
        );
        // A quiet tenant's next hour: nothing to write, the new hour opens empty.
        let quiet = MeterSpan {
            from: T + 100,
            to: T + 5 * HOUR,
            participants: 0,
            rooms: 0,
        };
        let empty = OpenHour {
            start: T,
            ..OpenHour::default()
        };
        let (closed, opened) = close_hours(&empty, &quiet, 0);
        assert!(closed.is_empty());
        assert_eq!(
            opened,
            OpenHour {
                start: T + 5 * HOUR,
                ..OpenHour::default()
            }
        );
    }

    #[test]
    fn zero_levels_write_only_the_last_hour_and_negative_ones_never_peak() {
        let mut m = metered(T, T + 5 * HOUR, 0, 0);
        m.rooms_created = 1;
        assert_eq!(
            seconds_and_peaks(&hours_gained(&m)),
            vec![(5 * HOUR, 0, 0, 0)]
        );
        // A take-back: time counted after an expiry, at one participant less.
        let hours = hours_gained(&metered(T + 3000, T + HOUR + 600, -1, 0));
        assert_eq!(
            seconds_and_peaks(&hours),
            vec![(0, -600, 0, 0), (HOUR, -600, 0, 0)]
        );
    }

    #[test]
    fn days_and_months_gain_the_sums_of_their_hours() {
        let mut gains = Gains::new();
        // 2026-12-31T23:30 to 2027-01-01T00:30, two present.
        let eve = 1_798_758_000;
        for (hour, gained) in hours_gained(&metered(eve + 1800, eve + 5400, 2, 0)) {
            gain(&mut gains, "t", hour, &gained);
        }
        let rows: Vec<_> = gains
            .iter()
            .map(|((_, rank, start), m)| (*rank, *start, m.participant_seconds))
            .collect();
        let new_year = eve + HOUR;
        assert_eq!(
            rows,
            vec![
                (0, eve, 3600),
                (0, new_year, 3600),
                (1, eve - 23 * HOUR, 3600),
                (1, new_year, 3600),
                (2, period_start(eve, Granularity::Month), 3600),
                (2, new_year, 3600),
            ]
        );
        assert_eq!(
            period_end(period_start(eve, Granularity::Month), Granularity::Month),
            new_year
        );
    }
}
