//! Usage metering (docs/api.md "Usage metering"): what a tenant used per UTC hour, day or
//! month, the operator-wide export, and the threshold alerts of the tenant config.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The length of a usage period. Periods are UTC hours, days or calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Hour,
    /// The default.
    #[default]
    Day,
    Month,
}

impl Granularity {
    pub const ALL: [Granularity; 3] = [Granularity::Hour, Granularity::Day, Granularity::Month];

    /// The granularity as written on the wire (and accepted by `?granularity=`).
    ///
    /// ```
    /// use chalk_sdk::model::Granularity;
    /// assert_eq!(Granularity::Month.as_str(), "month");
    /// assert_eq!("hour".parse::<Granularity>(), Ok(Granularity::Hour));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
            Granularity::Month => "month",
        }
    }

    /// The most periods of this length one request may ask for (744 hours, 400 days,
    /// 36 months); more is 422.
    pub fn max_periods(self) -> usize {
        match self {
            Granularity::Hour => 744,
            Granularity::Day => 400,
            Granularity::Month => 36,
        }
    }
}

impl std::str::FromStr for Granularity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Granularity::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| format!("must be one of hour, day, month (got {s:?})"))
    }
}

impl std::fmt::Display for Granularity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One metered quantity: the names of the fields of [`UsageMetrics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UsageMetric {
    ParticipantSeconds,
    RoomSeconds,
    PeakParticipants,
    ParticipantsJoined,
    RoomsCreated,
    TokenExchanges,
    ApiRequests,
    WebhookDeliveries,
    WebhookFailures,
}

impl UsageMetric {
    pub const ALL: [UsageMetric; 9] = [
        UsageMetric::ParticipantSeconds,
        UsageMetric::RoomSeconds,
        UsageMetric::PeakParticipants,
        UsageMetric::ParticipantsJoined,
        UsageMetric::RoomsCreated,
        UsageMetric::TokenExchanges,
        UsageMetric::ApiRequests,
        UsageMetric::WebhookDeliveries,
        UsageMetric::WebhookFailures,
    ];

    /// The metric as written on the wire, the name of its field.
    ///
    /// ```
    /// use chalk_sdk::model::UsageMetric;
    /// assert_eq!(UsageMetric::ParticipantSeconds.as_str(), "participant_seconds");
    /// assert_eq!("api_requests".parse::<UsageMetric>(), Ok(UsageMetric::ApiRequests));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            UsageMetric::ParticipantSeconds => "participant_seconds",
            UsageMetric::RoomSeconds => "room_seconds",
            UsageMetric::PeakParticipants => "peak_participants",
            UsageMetric::ParticipantsJoined => "participants_joined",
            UsageMetric::RoomsCreated => "rooms_created",
            UsageMetric::TokenExchanges => "token_exchanges",
            UsageMetric::ApiRequests => "api_requests",
            UsageMetric::WebhookDeliveries => "webhook_deliveries",
            UsageMetric::WebhookFailures => "webhook_failures",
        }
    }
}

impl std::str::FromStr for UsageMetric {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UsageMetric::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("unknown usage metric {s:?}"))
    }
}

impl std::fmt::Display for UsageMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a tenant used within a period (or, as `totals`, within the whole range asked for).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageMetrics {
    /// Time participants spent joined (join → leave, kick, room end or token expiry), summed.
    pub participant_seconds: i64,
    /// Time rooms were active (first join → end), summed.
    pub room_seconds: i64,
    /// Most participants joined at once across the tenant's rooms within the period.
    pub peak_participants: i64,
    pub participants_joined: i64,
    pub rooms_created: i64,
    /// Successful `/auth/token` and `/auth/refresh` calls.
    pub token_exchanges: i64,
    /// Requests authenticated as the tenant, any status.
    pub api_requests: i64,
    /// Webhook delivery attempts.
    pub webhook_deliveries: i64,
    /// Webhook delivery attempts that failed.
    pub webhook_failures: i64,
}

impl UsageMetrics {
    /// The value of one metric.
    pub fn get(&self, metric: UsageMetric) -> i64 {
        match metric {
            UsageMetric::ParticipantSeconds => self.participant_seconds,
            UsageMetric::RoomSeconds => self.room_seconds,
            UsageMetric::PeakParticipants => self.peak_participants,
            UsageMetric::ParticipantsJoined => self.participants_joined,
            UsageMetric::RoomsCreated => self.rooms_created,
            UsageMetric::TokenExchanges => self.token_exchanges,
            UsageMetric::ApiRequests => self.api_requests,
            UsageMetric::WebhookDeliveries => self.webhook_deliveries,
            UsageMetric::WebhookFailures => self.webhook_failures,
        }
    }

    /// Adds `other` as a later or parallel span of time: every metric sums except
    /// `peak_participants`, which takes the larger. This is how hours make a day and days a
    /// month, and how periods make `totals`.
    ///
    /// ```
    /// use chalk_sdk::model::UsageMetrics;
    /// let mut day = UsageMetrics { participant_seconds: 60, peak_participants: 3, ..Default::default() };
    /// day.absorb(&UsageMetrics { participant_seconds: 30, peak_participants: 2, ..Default::default() });
    /// assert_eq!((day.participant_seconds, day.peak_participants), (90, 3));
    /// ```
    pub fn absorb(&mut self, other: &UsageMetrics) {
        self.participant_seconds += other.participant_seconds;
        self.room_seconds += other.room_seconds;
        self.peak_participants = self.peak_participants.max(other.peak_participants);
        self.participants_joined += other.participants_joined;
        self.rooms_created += other.rooms_created;
        self.token_exchanges += other.token_exchanges;
        self.api_requests += other.api_requests;
        self.webhook_deliveries += other.webhook_deliveries;
        self.webhook_failures += other.webhook_failures;
    }
}

/// One period of a tenant's usage: `[period_start, period_end)` and its metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsagePeriod {
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    #[serde(flatten)]
    pub metrics: UsageMetrics,
}

/// `GET /tenants/{id}/usage`: one entry per period in `[from, to)` (periods with no use as
/// zeros), and the totals over them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    pub data: Vec<UsagePeriod>,
    pub totals: UsageMetrics,
}

/// One row of `GET /usage`: a tenant's usage within one period. Deleted tenants keep their
/// `tenant_id` and `external_id` here until their usage is purged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantUsagePeriod {
    pub tenant_id: String,
    /// The tenant's `external_id`, `null` when it has none.
    pub external_id: Option<String>,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    #[serde(flatten)]
    pub metrics: UsageMetrics,
}

/// Query of `GET /tenants/{id}/usage`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// Start, inclusive: an RFC 3339 time or a date (`2026-12-05`, midnight UTC). Default:
    /// the start of the current month. Rounded down to the start of its period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// End, exclusive: an RFC 3339 time or a date. Default: now. Rounded up to the end of
    /// its period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `hour`, `day` (default) or `month`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granularity: Option<Granularity>,
}

/// Query of `GET /usage` (operator): [`UsageQuery`] plus the pagination of every list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ExportUsageQuery {
    /// Start, inclusive: an RFC 3339 time or a date. Default: the start of the current month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// End, exclusive: an RFC 3339 time or a date. Default: now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `hour`, `day` (default) or `month`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granularity: Option<Granularity>,
    /// 1..=200, default 50 (ignored when streaming CSV or NDJSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// The period an alert's threshold applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertPeriod {
    Day,
    Month,
}

impl AlertPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertPeriod::Day => "day",
            AlertPeriod::Month => "month",
        }
    }

    /// The usage granularity of the same length.
    pub fn granularity(self) -> Granularity {
        match self {
            AlertPeriod::Day => Granularity::Day,
            AlertPeriod::Month => Granularity::Month,
        }
    }
}

/// An entry of the config field `usage_alerts`: one `usage.threshold_reached` event the
/// first time `metric` reaches `threshold` within a UTC day or month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UsageAlert {
    pub metric: UsageMetric,
    pub period: AlertPeriod,
    /// 1..=1000000000000.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000000000000_i64))]
    pub threshold: i64,
}

/// `data` of a `usage.threshold_reached` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageThresholdReachedData {
    pub metric: UsageMetric,
    /// `day` or `month`: the alert's period.
    pub period: AlertPeriod,
    /// Start of the day or month in which the threshold was reached.
    pub period_start: DateTime<Utc>,
    pub threshold: i64,
    /// The metric's value within the period when the threshold was found reached.
    pub value: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metrics() -> UsageMetrics {
        UsageMetrics {
            participant_seconds: 7200,
            room_seconds: 3600,
            peak_participants: 4,
            participants_joined: 5,
            rooms_created: 1,
            token_exchanges: 2,
            api_requests: 40,
            webhook_deliveries: 3,
            webhook_failures: 1,
        }
    }

    #[test]
    fn usage_round_trips_with_metrics_flattened_into_each_period() {
        let usage = Usage {
            data: vec![UsagePeriod {
                period_start: "2026-12-05T00:00:00Z".parse().unwrap(),
                period_end: "2026-12-06T00:00:00Z".parse().unwrap(),
                metrics: metrics(),
            }],
            totals: metrics(),
        };
        let value = serde_json::to_value(&usage).unwrap();
        assert_eq!(
            value,
            json!({
                "data": [{
                    "period_start": "2026-12-05T00:00:00Z",
                    "period_end": "2026-12-06T00:00:00Z",
                    "participant_seconds": 7200, "room_seconds": 3600, "peak_participants": 4,
                    "participants_joined": 5, "rooms_created": 1, "token_exchanges": 2,
                    "api_requests": 40, "webhook_deliveries": 3, "webhook_failures": 1
                }],
                "totals": {
                    "participant_seconds": 7200, "room_seconds": 3600, "peak_participants": 4,
                    "participants_joined": 5, "rooms_created": 1, "token_exchanges": 2,
                    "api_requests": 40, "webhook_deliveries": 3, "webhook_failures": 1
                }
            })
        );
        assert_eq!(serde_json::from_value::<Usage>(value).unwrap(), usage);
    }

    #[test]
    fn operator_row_round_trips_with_a_null_external_id() {
        let row = TenantUsagePeriod {
            tenant_id: "tenant_abc".into(),
            external_id: None,
            period_start: "2026-12-01T00:00:00Z".parse().unwrap(),
            period_end: "2027-01-01T00:00:00Z".parse().unwrap(),
            metrics: metrics(),
        };
        let value = serde_json::to_value(&row).unwrap();
        assert_eq!(value["external_id"], serde_json::Value::Null);
        assert_eq!(value["tenant_id"], "tenant_abc");
        assert_eq!(value["api_requests"], 40);
        assert_eq!(value["period_end"], "2027-01-01T00:00:00Z");
        assert_eq!(
            serde_json::from_value::<TenantUsagePeriod>(value).unwrap(),
            row
        );
    }

    #[test]
    fn alert_round_trips_and_refuses_unknown_names() {
        let alert: UsageAlert = serde_json::from_value(
            json!({"metric": "participant_seconds", "period": "month", "threshold": 360000}),
        )
        .unwrap();
        assert_eq!(
            alert,
            UsageAlert {
                metric: UsageMetric::ParticipantSeconds,
                period: AlertPeriod::Month,
                threshold: 360000
            }
        );
        assert_eq!(
            serde_json::to_value(alert).unwrap(),
            json!({"metric": "participant_seconds", "period": "month", "threshold": 360000})
        );
        for bad in [
            json!({"metric": "seconds", "period": "day", "threshold": 1}),
            json!({"metric": "api_requests", "period": "hour", "threshold": 1}),
            json!({"metric": "api_requests", "period": "day", "threshold": 1, "extra": 1}),
        ] {
            assert!(
                serde_json::from_value::<UsageAlert>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn granularity_and_metric_names_match_the_wire() {
        for g in Granularity::ALL {
            assert_eq!(serde_json::to_value(g).unwrap(), json!(g.as_str()));
            assert_eq!(g.as_str().parse::<Granularity>(), Ok(g));
        }
        assert!("week".parse::<Granularity>().is_err());
        for m in UsageMetric::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), json!(m.as_str()));
            assert_eq!(m.as_str().parse::<UsageMetric>(), Ok(m));
            let value = serde_json::to_value(metrics()).unwrap();
            assert_eq!(value[m.as_str()], json!(metrics().get(m)), "{m}");
        }
        let query: UsageQuery =
            serde_json::from_value(json!({"from": "2026-12", "granularity": "hour"})).unwrap();
        assert_eq!(query.granularity, Some(Granularity::Hour));
        assert_eq!(query.to, None);
    }

    #[test]
    fn absorb_sums_and_keeps_the_peak() {
        let mut total = UsageMetrics::default();
        total.absorb(&metrics());
        total.absorb(&UsageMetrics {
            peak_participants: 9,
            api_requests: 1,
            ..Default::default()
        });
        assert_eq!(total.peak_participants, 9);
        assert_eq!(total.api_requests, 41);
        assert_eq!(total.participant_seconds, 7200);
    }

    #[test]
    fn threshold_event_data_round_trips() {
        let data = UsageThresholdReachedData {
            metric: UsageMetric::ApiRequests,
            period: AlertPeriod::Day,
            period_start: "2026-12-05T00:00:00Z".parse().unwrap(),
            threshold: 1000,
            value: 1003,
        };
        let value = serde_json::to_value(&data).unwrap();
        assert_eq!(
            value,
            json!({"metric": "api_requests", "period": "day",
                   "period_start": "2026-12-05T00:00:00Z", "threshold": 1000, "value": 1003})
        );
        assert_eq!(
            serde_json::from_value::<UsageThresholdReachedData>(value).unwrap(),
            data
        );
    }
}
