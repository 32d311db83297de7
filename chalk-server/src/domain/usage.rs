//! Usage metering (docs/api.md "Usage metering"): the range a read asks for, its periods,
//! and the fold of a tenant's stored periods (`store/usage.rs`) into them.
//!
//! A period is a UTC hour, day or calendar month. Days and months are sums of their hours,
//! except `peak_participants`, their maximum: the store writes all three in one statement. The time since the tenant's last level change
//! is not in its rows yet: a read adds it from the tenant's running levels, up to now, so a
//! period in progress includes who is still present.

use chalk_sdk::model::{Granularity, TenantUsagePeriod, Usage, UsageMetrics, UsagePeriod};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::clock::to_datetime;
use crate::domain::audit::{self, AuditContext};
use crate::domain::validate::Problems;
use crate::error::{ApiError, ApiResult};
use crate::store::usage::{self as store_usage, Meter, MeteredTenant, PurgeOutcome};
use crate::store::usage_reads::{self, PeriodRow};
use crate::store::{Db, Timestamp};

/// A range of periods: `[from, to)` cut at `granularity`'s boundaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub granularity: Granularity,
    /// Each period's `[start, end)`, in order, contiguous.
    pub periods: Vec<(Timestamp, Timestamp)>,
}

impl Range {
    pub fn from(&self) -> Timestamp {
        self.periods.first().map_or(0, |p| p.0)
    }

    pub fn to(&self) -> Timestamp {
        self.periods.last().map_or(0, |p| p.1)
    }

    /// `[from, to)`.
    pub fn span(&self) -> (Timestamp, Timestamp) {
        (self.from(), self.to())
    }
}

/// `2026-12`, `2026-12-05` (midnight UTC) or an RFC 3339 time.
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?));
    }
    if text.len() == 7
        && let Ok(d) = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
    {
        return Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?));
    }
    None
}

/// The start of the period of `granularity` holding `t`.
pub fn period_floor(t: DateTime<Utc>, granularity: Granularity) -> DateTime<Utc> {
    to_datetime(store_usage::period_start(t.timestamp(), granularity))
}

/// The start of the period after the one starting at `start`.
pub fn period_next(start: DateTime<Utc>, granularity: Granularity) -> DateTime<Utc> {
    to_datetime(store_usage::period_end(start.timestamp(), granularity))
}

/// The earliest and latest instants a range may name: metering began long after the
/// first, and the second keeps every computation far from overflow.
const EARLIEST: &str = "2000-01-01T00:00:00Z";
const LATEST: &str = "2200-01-01T00:00:00Z";

/// The range of `?from=&to=&granularity=`, as the contract defines it: `from` defaults to
/// the start of the current month and is rounded down to the start of its period; `to`
/// defaults to now and is rounded up to the end of its period (so the period in progress
/// is included). Every bad field is listed in one 422.
pub fn parse_range(
    from: Option<&str>,
    to: Option<&str>,
    granularity: Option<&str>,
    now: Timestamp,
) -> ApiResult<Range> {
    let mut problems = Problems::default();
    let granularity = match granularity.filter(|g| !g.is_empty()) {
        None => Some(Granularity::default()),
        Some(text) => match text.parse::<Granularity>() {
            Ok(g) => Some(g),
            Err(message) => {
                problems.push("granularity", message);
                None
            }
        },
    };
    let earliest = parse_instant(EARLIEST).expect("a valid constant");
    let latest = parse_instant(LATEST).expect("a valid constant");
    let mut instant = |field: &str, text: Option<&str>, default: DateTime<Utc>| match text
        .filter(|t| !t.is_empty())
    {
        None => Some(default),
        Some(text) => match parse_instant(text) {
            Some(t) if t < earliest || t > latest => {
                problems.push(field, format!("must be between {EARLIEST} and {LATEST}"));
                None
            }
            Some(t) => Some(t),
            None => {
                problems.push(
                    field,
                    "must be an RFC 3339 time (2026-12-05T10:00:00Z), a date (2026-12-05) or a month (2026-12)",
                );
                None
            }
        },
    };
    let now_at = to_datetime(now);
    let from = instant("from", from, period_floor(now_at, Granularity::Month));
    let to = instant("to", to, now_at);
    problems.finish()?;
    let (Some(granularity), Some(from), Some(to)) = (granularity, from, to) else {
        return Err(ApiError::internal("a range parsed without its parts"));
    };
    if to <= from {
        return Err(ApiError::validation_field("to", "must be after from"));
    }
    let max = granularity.max_periods();
    let mut periods = Vec::new();
    let mut start = period_floor(from, granularity);
    while start < to {
        if periods.len() == max {
            return Err(ApiError::validation_field(
                "to",
                format!(
                    "the range holds more than {max} {} periods; ask for a shorter range or a coarser granularity",
                    granularity.as_str()
                ),
            ));
        }
        let end = period_next(start, granularity);
        periods.push((start.timestamp(), end.timestamp()));
        start = end;
    }
    Ok(Range {
        granularity,
        periods,
    })
}

/// Folds stored rows (ordered by start) into `periods`, adding `meter`'s open hour and its
/// running levels from its instant up to `now`.
pub fn fold(
    periods: &[(Timestamp, Timestamp)],
    stored: &[PeriodRow],
    meter: Option<Meter>,
    now: Timestamp,
) -> Vec<UsageMetrics> {
    let mut rows = stored.iter().peekable();
    periods
        .iter()
        .map(|&(start, end)| {
            let mut metrics = UsageMetrics::default();
            while let Some(row) = rows.peek() {
                if row.start >= end {
                    break;
                }
                if row.start >= start {
                    metrics.absorb(&row.metrics);
                }
                rows.next();
            }
            if let Some(meter) = meter {
                if (start..end).contains(&meter.open.start) {
                    metrics.absorb(&meter.open_use());
                }
                let running = end.min(now) - start.max(meter.at);
                if running > 0 {
                    metrics.absorb(&UsageMetrics {
                        participant_seconds: meter.participants * running,
                        room_seconds: meter.rooms * running,
                        peak_participants: meter.participants,
                        ..UsageMetrics::default()
                    });
                }
            }
            metrics
        })
        .collect()
}

fn totals(metrics: &[UsageMetrics]) -> UsageMetrics {
    metrics.iter().fold(UsageMetrics::default(), |mut t, m| {
        t.absorb(m);
        t
    })
}

/// A tenant's usage over `range`. `None` when the store knows nothing of the tenant (never
/// existed, or deleted and purged).
///
/// A live tenant's rows and running levels are read by one statement, so they are of one
/// moment: a change committed between two reads would move time from the levels into the
/// rows and count it twice or not at all. A deleted tenant has no levels any more; its rows
/// are all there is.
pub async fn tenant_usage(
    db: &mut Db,
    tenant_id: &str,
    range: &Range,
    now: Timestamp,
) -> ApiResult<Option<Usage>> {
    let (meter, stored) =
        match usage_reads::live_tenant_periods(db, tenant_id, range.granularity, range.span())
            .await?
        {
            Some((meter, stored)) => (Some(meter), stored),
            None => {
                if store_usage::deleted_tenant(db, tenant_id).await?.is_none() {
                    return Ok(None);
                }
                let stored =
                    usage_reads::tenant_periods(db, tenant_id, range.granularity, range.span())
                        .await?;
                (None, stored)
            }
        };
    let metrics = fold(&range.periods, &stored, meter, now);
    Ok(Some(Usage {
        totals: totals(&metrics),
        data: range
            .periods
            .iter()
            .zip(metrics)
            .map(|(&(start, end), metrics)| UsagePeriod {
                period_start: to_datetime(start),
                period_end: to_datetime(end),
                metrics,
            })
            .collect(),
    }))
}

/// Purges a deleted tenant's usage history (`DELETE /tenants/{id}/usage`), audited.
pub async fn purge(db: &mut Db, ctx: &AuditContext, tenant_id: &str) -> ApiResult<()> {
    match store_usage::purge(db, tenant_id).await? {
        PurgeOutcome::Purged => {
            audit::record(
                db,
                ctx,
                "usage.purge",
                ("tenant", tenant_id),
                Some(tenant_id),
                None,
            )
            .await?;
            Ok(())
        }
        PurgeOutcome::TenantExists => Err(ApiError::conflict(
            "The tenant exists: its usage is kept while it does. Delete the tenant first",
        )),
        PurgeOutcome::NotFound => Err(ApiError::not_found("Usage of this tenant")),
    }
}

/// Periods per tenant a cursor position can hold (more than any range's 744).
const POSITIONS: i64 = 1024;

/// One row of the operator-wide usage, with its position for cursors.
pub struct ExportRow {
    /// `tenant seq * 1024 + period index`.
    pub position: i64,
    pub row: TenantUsagePeriod,
}

/// The rows of `GET /usage` after position `after` (0: from the start), at most `limit`,
/// in (tenant, period) order. Its reads cost the tenants and periods returned.
pub async fn export_page(
    db: &mut Db,
    range: &Range,
    after: i64,
    limit: usize,
    now: Timestamp,
) -> ApiResult<Vec<ExportRow>> {
    let periods = range.periods.len();
    let mut out = Vec::with_capacity(limit);
    // The tenant at `after` may have periods left: resume from it.
    let (mut after_seq, mut skip) = if after > 0 {
        (
            after / POSITIONS - 1,
            Some((after / POSITIONS, after % POSITIONS)),
        )
    } else {
        (0, None)
    };
    while out.len() < limit {
        let wanted = (limit - out.len()).div_ceil(periods) as i64 + 1;
        let tenants: Vec<MeteredTenant> =
            store_usage::tenants(db, range.from(), range.to(), after_seq, wanted).await?;
        if tenants.is_empty() {
            break;
        }
        let ids: Vec<String> = tenants.iter().map(|t| t.tenant_id.clone()).collect();
        let mut stored = usage_reads::periods(db, &ids, range.granularity, range.span()).await?;
        for tenant in &tenants {
            after_seq = tenant.seq;
            let own = stored.remove(&tenant.tenant_id).unwrap_or_default();
            let metrics = fold(&range.periods, &own, tenant.meter, now);
            for (index, (&(start, end), metrics)) in range.periods.iter().zip(metrics).enumerate() {
                let index = index as i64;
                if let Some((seq, last)) = skip
                    && seq == tenant.seq
                    && index <= last
                {
                    continue;
                }
                if out.len() == limit {
                    return Ok(out);
                }
                out.push(ExportRow {
                    position: tenant.seq * POSITIONS + index,
                    row: TenantUsagePeriod {
                        tenant_id: tenant.tenant_id.clone(),
                        external_id: tenant.external_id.clone(),
                        period_start: to_datetime(start),
                        period_end: to_datetime(end),
                        metrics,
                    },
                });
            }
        }
        skip = None;
    }
    Ok(out)
}

/// The CSV header of the operator export.
pub const CSV_HEADER: &str = "tenant_id,external_id,period_start,period_end,participant_seconds,\
room_seconds,peak_participants,participants_joined,rooms_created,token_exchanges,api_requests,\
webhook_deliveries,webhook_failures\n";

/// One CSV line. No field needs quoting: tenant ids are `tenant_` and base62, external ids
/// `[a-z0-9._-]`, the rest timestamps and integers.
pub fn csv_line(row: &TenantUsagePeriod) -> String {
    let m = &row.metrics;
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
        row.tenant_id,
        row.external_id.as_deref().unwrap_or(""),
        row.period_start
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        row.period_end
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        m.participant_seconds,
        m.room_seconds,
        m.peak_participants,
        m.participants_joined,
        m.rooms_created,
        m.token_exchanges,
        m.api_requests,
        m.webhook_deliveries,
        m.webhook_failures,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::usage::OpenHour;

    fn at(text: &str) -> Timestamp {
        parse_instant(text).unwrap().timestamp()
    }

    #[test]
    fn instants_accept_times_dates_and_months() {
        assert_eq!(at("2026-12-05T10:30:00Z"), 1_796_466_600);
        assert_eq!(at("2026-12-05"), at("2026-12-05T00:00:00Z"));
        assert_eq!(at("2026-12"), at("2026-12-01T00:00:00Z"));
        assert_eq!(at("2026-12-05T11:30:00+01:00"), at("2026-12-05T10:30:00Z"));
        for bad in ["2026-13", "yesterday", "2026-12-32", "1796466600", ""] {
            assert!(parse_instant(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ranges_round_to_whole_periods_and_default_to_this_month() {
        let now = at("2026-12-05T10:30:00Z");
        let range = parse_range(None, None, None, now).unwrap();
        assert_eq!(range.granularity, Granularity::Day);
        assert_eq!(range.periods.len(), 5);
        assert_eq!(range.from(), at("2026-12-01"));
        assert_eq!(range.to(), at("2026-12-06"));
        let range = parse_range(
            Some("2026-12-05T10:30:00Z"),
            Some("2026-12-05T12:00:00Z"),
            Some("hour"),
            now,
        )
        .unwrap();
        assert_eq!(
            range.periods,
            vec![
                (at("2026-12-05T10:00:00Z"), at("2026-12-05T11:00:00Z")),
                (at("2026-12-05T11:00:00Z"), at("2026-12-05T12:00:00Z")),
            ]
        );
        let range = parse_range(Some("2026-01"), Some("2027-01"), Some("month"), now).unwrap();
        assert_eq!(range.periods.len(), 12);
        assert_eq!(range.periods[1], (at("2026-02"), at("2026-03")));
    }

    fn fields(error: ApiError) -> Vec<String> {
        error
            .envelope(None)
            .error
            .details
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.field)
            .collect()
    }

    #[test]
    fn bad_ranges_name_their_fields() {
        let now = at("2026-12-05T10:30:00Z");
        let error = parse_range(Some("soon"), Some("later"), Some("week"), now).unwrap_err();
        assert_eq!(error.status(), 422);
        assert_eq!(fields(error), vec!["granularity", "from", "to"]);
        let error = parse_range(Some("2026-12-05"), Some("2026-12-04"), None, now).unwrap_err();
        assert_eq!(fields(error), vec!["to"]);
        // 744 hours fit, 745 do not; likewise 400 days and 36 months.
        assert!(parse_range(Some("2026-01-01"), Some("2026-02-01"), Some("hour"), now).is_ok());
        let error = parse_range(
            Some("2026-01-01"),
            Some("2026-02-01T01:00:00Z"),
            Some("hour"),
            now,
        )
        .unwrap_err();
        assert_eq!(fields(error), vec!["to"]);
        assert!(parse_range(Some("2026-01-01"), Some("2027-02-05"), None, now).is_ok());
        assert!(parse_range(Some("2026-01-01"), Some("2027-02-06"), None, now).is_err());
        assert!(parse_range(Some("2026-01"), Some("2029-01"), Some("month"), now).is_ok());
        assert!(parse_range(Some("2026-01"), Some("2029-02"), Some("month"), now).is_err());
        let error = parse_range(Some("1960-01-01"), None, None, now).unwrap_err();
        assert_eq!(fields(error), vec!["from"]);
    }

    #[test]
    fn fold_sums_hours_keeps_the_peak_and_runs_the_meter_to_now() {
        let day = at("2026-12-05");
        let periods = [(day, day + 86_400), (day + 86_400, day + 2 * 86_400)];
        let row = |hour: i64, seconds: i64, peak: i64| PeriodRow {
            start: day + hour * 3600,
            metrics: UsageMetrics {
                participant_seconds: seconds,
                peak_participants: peak,
                ..UsageMetrics::default()
            },
        };
        let hours = [row(1, 100, 2), row(5, 50, 3), row(25, 7, 1)];
        // Two present and one room started since 23:00 on the first day, whose hour is open
        // (40 participant-seconds and 3 joins before that change, up to 4 present); now is
        // 01:30 the next day.
        let meter = Meter {
            at: day + 23 * 3600,
            participants: 2,
            rooms: 1,
            open: OpenHour {
                start: day + 23 * 3600,
                participant_seconds: 40,
                room_seconds: 0,
                peak: 4,
                participants_joined: 3,
            },
        };
        let now = day + 86_400 + 5400;
        let folded = fold(&periods, &hours, Some(meter), now);
        assert_eq!(folded[0].participant_seconds, 150 + 40 + 2 * 3600);
        assert_eq!(folded[0].room_seconds, 3600);
        assert_eq!(folded[0].peak_participants, 4);
        assert_eq!(folded[0].participants_joined, 3);
        assert_eq!(folded[1].participant_seconds, 7 + 2 * 5400);
        assert_eq!(folded[1].peak_participants, 2);
        assert_eq!(folded[1].participants_joined, 0);
        // Without a running level, only the rows count.
        let folded = fold(&periods, &hours, None, now);
        assert_eq!(folded[1].participant_seconds, 7);
        assert_eq!(folded[1].peak_participants, 1);
    }

    #[test]
    fn csv_lines_have_every_column_of_the_header() {
        let row = TenantUsagePeriod {
            tenant_id: "tenant_a".into(),
            external_id: None,
            period_start: to_datetime(at("2026-12-05")),
            period_end: to_datetime(at("2026-12-06")),
            metrics: UsageMetrics {
                api_requests: 3,
                ..UsageMetrics::default()
            },
        };
        let line = csv_line(&row);
        assert_eq!(
            line,
            "tenant_a,,2026-12-05T00:00:00Z,2026-12-06T00:00:00Z,0,0,0,0,0,0,3,0,0\n"
        );
        assert_eq!(line.split(',').count(), CSV_HEADER.split(',').count());
    }
}
