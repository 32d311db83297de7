//! Reading a tenant's stored usage periods (`usage_periods`, written by `store/usage.rs`):
//! one granularity over a range, for one tenant with its running levels, or for a page of
//! tenants. A range's rows come back packed in one text ([`PACKED`]): a read is one row
//! whatever the tenant's history.

use std::collections::HashMap;

use chalk_sdk::model::{Granularity, UsageMetrics};

use super::rows::Timestamp;
use super::tenants::{METER_COLUMNS, Meter, meter_from_row};
use super::usage::METRICS;
use super::{Db, StoreResult, col, store_error};

/// One stored period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodRow {
    pub start: Timestamp,
    pub metrics: UsageMetrics,
}

/// One stored period packed as text: its start, then [`METRICS`] in order, separated by
/// spaces; a range's periods are these joined by commas. A read of 30 periods returns one
/// row of one text column instead of 30 rows of 11: through sqlx `Any` on SQLite each row
/// is its own hand-off from the database's thread to the request's (a channel send and a
/// wake-up), its values copied (`sqlite3_value_dup`, a malloc each), converted to `Any`
/// values and looked up by name — that, not SQLite's scan, was what a tenant with history
/// paid over an empty one (bench/README.md, issue 27's read). `string_agg` and `||` (an
/// integer joined to text is its decimal digits) read alike on PostgreSQL and SQLite (3.44
/// and later; sqlx bundles 3.51). The order within the text is the database's; [`unpack`]
/// sorts.
static PACKED: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "string_agg(period_start || ' ' || {}, ',')",
        METRICS.join(" || ' ' || ")
    )
});

/// Reads periods packed by [`PACKED`] (`None`: no row matched), oldest first. Anything but
/// ten decimal integers a period is an error: the schema and the code disagree.
fn unpack(packed: Option<&str>) -> StoreResult<Vec<PeriodRow>> {
    let Some(packed) = packed.filter(|p| !p.is_empty()) else {
        return Ok(Vec::new());
    };
    let bad = || super::StoreError::Internal(format!("usage periods: unreadable text {packed:?}"));
    let mut rows = Vec::with_capacity(packed.len() / 24 + 1);
    let mut bytes = packed.bytes().peekable();
    loop {
        let mut values = [0_i64; 1 + METRICS.len()];
        for (i, value) in values.iter_mut().enumerate() {
            let negative = bytes.next_if_eq(&b'-').is_some();
            let mut digits = 0;
            while let Some(digit) = bytes.next_if(u8::is_ascii_digit) {
                let digit = i64::from(digit - b'0');
                *value = value
                    .checked_mul(10)
                    .and_then(|v| {
                        if negative {
                            v.checked_sub(digit)
                        } else {
                            v.checked_add(digit)
                        }
                    })
                    .ok_or_else(bad)?;
                digits += 1;
            }
            let separator = if i < METRICS.len() { Some(b' ') } else { None };
            if digits == 0 || (separator.is_some() && bytes.next() != separator) {
                return Err(bad());
            }
        }
        // [`METRICS`]'s order; a metric added there stops this pattern from compiling.
        let [
            start,
            participant_seconds,
            room_seconds,
            peak_participants,
            participants_joined,
            rooms_created,
            token_exchanges,
            api_requests,
            webhook_deliveries,
            webhook_failures,
        ] = values;
        rows.push(PeriodRow {
            start,
            metrics: UsageMetrics {
                participant_seconds,
                room_seconds,
                peak_participants,
                participants_joined,
                rooms_created,
                token_exchanges,
                api_requests,
                webhook_deliveries,
                webhook_failures,
            },
        });
        match bytes.next() {
            None => break,
            Some(b',') => {}
            Some(_) => return Err(bad()),
        }
    }
    // Usually in the index's order already: then this only checks it.
    rows.sort_unstable_by_key(|row| row.start);
    Ok(rows)
}

/// The condition on `usage_periods` of a tenant's (`$1`) periods of one granularity (`$2`)
/// starting in `[$3, $4)`: the primary key's prefix, then a range on its last column.
const TENANT_PERIODS: &str =
    "tenant_id = $1 AND granularity = $2 AND period_start >= $3 AND period_start < $4";

/// A tenant's stored periods of `granularity` starting in `[from, to)`, oldest first; a
/// period with no use has no row. One statement answering one row (a `NULL` text when
/// nothing matched), so a tenant with history and an empty one cost the same hand-offs.
pub async fn tenant_periods(
    db: &mut Db,
    tenant_id: &str,
    granularity: Granularity,
    (from, to): (Timestamp, Timestamp),
) -> StoreResult<Vec<PeriodRow>> {
    if to <= from {
        return Ok(Vec::new());
    }
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {} AS periods FROM usage_periods WHERE {TENANT_PERIODS}",
            *PACKED
        )
    });
    let row = sqlx::query(SQL.as_str())
        .bind(tenant_id)
        .bind(granularity.as_str())
        .bind(from)
        .bind(to)
        .fetch_one(db.conn()?)
        .await
        .map_err(store_error)?;
    unpack(col::<Option<String>>(&row, "periods")?.as_deref())
}

/// A live tenant's running levels and its stored periods of `granularity` starting in
/// `[from, to)` (as [`tenant_periods`]), read by one statement: one snapshot on either
/// database, so a change committed meanwhile is in both or in neither — it cannot move
/// time from the levels into rows between two reads. `None` when no live tenant has this
/// id (a deleted one's history: [`deleted_tenant`], then [`tenant_periods`]).
pub async fn live_tenant_periods(
    db: &mut Db,
    tenant_id: &str,
    granularity: Granularity,
    (from, to): (Timestamp, Timestamp),
) -> StoreResult<Option<(Meter, Vec<PeriodRow>)>> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {METER_COLUMNS}, \
               (SELECT {} FROM usage_periods WHERE {TENANT_PERIODS}) AS periods \
             FROM tenants WHERE id = $1",
            *PACKED
        )
    });
    let Some(row) = sqlx::query(SQL.as_str())
        .bind(tenant_id)
        .bind(granularity.as_str())
        .bind(from)
        .bind(to)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    Ok(Some((
        meter_from_row(&row)?,
        unpack(col::<Option<String>>(&row, "periods")?.as_deref())?,
    )))
}

/// The stored periods of `granularity` starting in `[from, to)` of each of `tenant_ids`,
/// oldest first; a period with no use has no row. One row read per tenant with any, its
/// periods packed (a month by day is one row of 30 periods whatever the history).
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
        "SELECT tenant_id, {} AS periods FROM usage_periods \
         WHERE granularity = $1 AND period_start >= $2 AND period_start < $3 \
           AND tenant_id IN ({tenants}) \
         GROUP BY tenant_id",
        *PACKED
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(granularity.as_str())
        .bind(from)
        .bind(to);
    for id in tenant_ids {
        query = query.bind(id.as_str());
    }
    for row in query.fetch_all(db.conn()?).await.map_err(store_error)? {
        let rows = unpack(col::<Option<String>>(&row, "periods")?.as_deref())?;
        by_tenant.insert(col(&row, "tenant_id")?, rows);
    }
    Ok(by_tenant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_periods_read_back_exactly_in_time_order() {
        let rows = unpack(Some(
            "1796515200 -600 3600 12 1 2 3 4 5 6,1796428800 36000 7200 0 0 0 0 0 0 9223372036854775807",
        ))
        .unwrap();
        assert_eq!(
            rows.iter().map(|r| r.start).collect::<Vec<_>>(),
            vec![1_796_428_800, 1_796_515_200]
        );
        assert_eq!(rows[0].metrics.webhook_failures, i64::MAX);
        assert_eq!(
            rows[1].metrics,
            UsageMetrics {
                participant_seconds: -600,
                room_seconds: 3600,
                peak_participants: 12,
                participants_joined: 1,
                rooms_created: 2,
                token_exchanges: 3,
                api_requests: 4,
                webhook_deliveries: 5,
                webhook_failures: 6,
            }
        );
        assert!(unpack(None).unwrap().is_empty());
        // A text that is not ten integers a period is an error, never a guess.
        assert_eq!(
            unpack(Some("-9223372036854775808 0 0 0 0 0 0 0 0 0")).unwrap()[0].start,
            i64::MIN
        );
        for bad in [
            "1 2 3",
            "1 2 3 4 5 6 7 8 9 10 11",
            "1 2 3 4 5 6 7 8 9 x",
            "1 2 3 4 5 6 7 8 9 10,",
            "1 2 3 4 5 6 7 8 9 10 ",
            "1 2 3 4 5 6 7 8 9 -",
            "1 2 3 4 5 6 7 8 9 9223372036854775808",
            "1 2  3 4 5 6 7 8 9 10",
        ] {
            assert!(unpack(Some(bad)).is_err(), "{bad}");
        }
    }
}
