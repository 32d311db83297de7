//! Usage metering (docs/api.md "Usage metering"): a tenant's usage per hour, day or month
//! with [`Client::usage`], and every tenant's with [`Client::usage_export`] — a page at a
//! time, or the whole range streamed as typed rows or CSV for a billing import.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use futures_util::Stream;
use futures_util::stream;
use reqwest::Method;
use reqwest::header::ACCEPT;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::model::{ExportUsageQuery, Granularity, Page, TenantUsagePeriod, Usage, UsageQuery};

/// One end of a usage range: a date (midnight UTC) or a time. Parsed from `2026-12` (the
/// month's first day), `2026-12-05` or an RFC 3339 time.
///
/// ```
/// use chalk_sdk::usage::UsageBound;
/// let month: UsageBound = "2026-12".parse().unwrap();
/// assert_eq!(month.to_string(), "2026-12-01");
/// let time: UsageBound = "2026-12-05T10:30:00+01:00".parse().unwrap();
/// assert_eq!(time.to_string(), "2026-12-05T09:30:00Z");
/// assert!("yesterday".parse::<UsageBound>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageBound {
    Date(NaiveDate),
    Time(DateTime<Utc>),
}

impl From<NaiveDate> for UsageBound {
    fn from(date: NaiveDate) -> Self {
        UsageBound::Date(date)
    }
}

impl From<DateTime<Utc>> for UsageBound {
    fn from(time: DateTime<Utc>) -> Self {
        UsageBound::Time(time)
    }
}

impl FromStr for UsageBound {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Ok(UsageBound::Time(time.with_timezone(&Utc)));
        }
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Ok(UsageBound::Date(date));
        }
        // `%Y-%m` alone does not parse into a date: name its first day.
        if let Ok(date) = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d") {
            return Ok(UsageBound::Date(date));
        }
        Err(format!(
            "{text:?}: expected a month (2026-12), a date (2026-12-05) or an RFC 3339 time"
        ))
    }
}

impl fmt::Display for UsageBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageBound::Date(date) => write!(f, "{}", date.format("%Y-%m-%d")),
            UsageBound::Time(time) => f.write_str(&time.to_rfc3339_opts(SecondsFormat::Secs, true)),
        }
    }
}

/// `GET /tenants/{id}/usage`, being put together: set the range and granularity, then
/// `.await` it. Unset, the server answers the current month by day.
///
/// ```no_run
/// use chalk_sdk::model::Granularity;
/// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
/// let usage = client
///     .usage("tenant_abc123")
///     .from("2026-12-01".parse::<chalk_sdk::usage::UsageBound>().unwrap())
///     .granularity(Granularity::Day)
///     .await?;
/// println!("{} participant-seconds", usage.totals.participant_seconds);
/// # Ok(()) }
/// ```
#[must_use = "a usage request does nothing until it is awaited"]
pub struct UsageRequest<'c> {
    client: &'c Client,
    tenant_id: String,
    query: UsageQuery,
}

impl<'c> UsageRequest<'c> {
    pub(crate) fn new(client: &'c Client, tenant_id: String) -> Self {
        Self {
            client,
            tenant_id,
            query: UsageQuery::default(),
        }
    }

    /// The range's start, inclusive.
    pub fn from(mut self, from: impl Into<UsageBound>) -> Self {
        self.query.from = Some(from.into().to_string());
        self
    }

    /// The range's end, exclusive.
    pub fn to(mut self, to: impl Into<UsageBound>) -> Self {
        self.query.to = Some(to.into().to_string());
        self
    }

    pub fn granularity(mut self, granularity: Granularity) -> Self {
        self.query.granularity = Some(granularity);
        self
    }

    /// Sends the request (what `.await` does).
    pub async fn send(self) -> Result<Usage> {
        self.client
            .call(Method::GET, &["tenants", &self.tenant_id, "usage"])
            .query(&self.query)
            .send()
            .await?
            .decode()
    }
}

impl<'c> IntoFuture for UsageRequest<'c> {
    type Output = Result<Usage>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Usage>> + Send + 'c>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// `GET /usage` (master or operator key): every tenant's usage per period, deleted tenants
/// included. Read it a page at a time ([`page`](Self::page)), or the whole range as it
/// arrives: typed rows ([`rows`](Self::rows)) or CSV ([`csv`](Self::csv)), in constant memory
/// however long the range.
#[derive(Clone)]
pub struct UsageExport<'c> {
    client: &'c Client,
    query: ExportUsageQuery,
}

impl<'c> UsageExport<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self {
            client,
            query: ExportUsageQuery::default(),
        }
    }

    /// The range's start, inclusive.
    pub fn from(mut self, from: impl Into<UsageBound>) -> Self {
        self.query.from = Some(from.into().to_string());
        self
    }

    /// The range's end, exclusive.
    pub fn to(mut self, to: impl Into<UsageBound>) -> Self {
        self.query.to = Some(to.into().to_string());
        self
    }

    pub fn granularity(mut self, granularity: Granularity) -> Self {
        self.query.granularity = Some(granularity);
        self
    }

    /// One page of rows (`limit` 1..=200, default 50), after `cursor` (the previous page's
    /// `next_cursor`).
    pub async fn page(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<TenantUsagePeriod>> {
        let query = ExportUsageQuery {
            limit,
            cursor: cursor.map(str::to_owned),
            ..self.query.clone()
        };
        self.client
            .call(Method::GET, &["usage"])
            .query(&query)
            .send()
            .await?
            .decode()
    }

    /// The whole range as typed rows, parsed from NDJSON as it arrives.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let mut rows = std::pin::pin!(client.usage_export().rows());
    /// while let Some(row) = rows.try_next().await? {
    ///     println!("{} {} {}", row.tenant_id, row.period_start, row.metrics.participant_seconds);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn rows(self) -> impl Stream<Item = Result<TenantUsagePeriod>> + Send + 'c {
        let lines = Lines::default();
        stream::try_unfold(
            (self.body("application/x-ndjson"), lines),
            |(mut body, mut lines)| async move {
                loop {
                    if let Some(line) = lines.next_line() {
                        return Ok(Some((parse_row(&line)?, (body, lines))));
                    }
                    match body.next_chunk().await? {
                        Some(chunk) => lines.push(&chunk),
                        None => {
                            return match lines.rest() {
                                Some(line) => Ok(Some((parse_row(&line)?, (body, lines)))),
                                None => Ok(None),
                            };
                        }
                    }
                }
            },
        )
    }

    /// The whole range as CSV (a header row, then one row per tenant and period), in the
    /// chunks it arrives in: write them to a file as they come.
    pub fn csv(self) -> impl Stream<Item = Result<Vec<u8>>> + Send + 'c {
        stream::try_unfold(self.body("text/csv"), |mut body| async move {
            Ok(body.next_chunk().await?.map(|chunk| (chunk, body)))
        })
    }

    fn body(self, accept: &'static str) -> Body<'c> {
        Body::Unopened {
            export: self,
            accept,
        }
    }
}

/// A streamed response body, opened at the first read.
enum Body<'c> {
    Unopened {
        export: UsageExport<'c>,
        accept: &'static str,
    },
    Open(reqwest::Response),
    Done,
}

impl Body<'_> {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            match self {
                Body::Unopened { export, accept } => {
                    let response = export
                        .client
                        .call(Method::GET, &["usage"])
                        .query(&export.query)
                        .header(ACCEPT, accept)
                        .open()
                        .await?;
                    *self = Body::Open(response);
                }
                Body::Open(response) => {
                    return match response.chunk().await.map_err(Error::from_reqwest)? {
                        Some(chunk) => Ok(Some(chunk.to_vec())),
                        None => {
                            *self = Body::Done;
                            Ok(None)
                        }
                    };
                }
                Body::Done => return Ok(None),
            }
        }
    }
}

/// Splits bytes into lines as chunks arrive, holding only the line not yet complete.
#[derive(Default)]
struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    fn push(&mut self, chunk: &[u8]) {
        self.pending.extend_from_slice(chunk);
    }

    /// The next complete, non-blank line.
    fn next_line(&mut self) -> Option<Vec<u8>> {
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            if !line.trim_ascii().is_empty() {
                return Some(line);
            }
        }
        None
    }

    /// What is left once the body has ended: a last line without its newline.
    fn rest(&mut self) -> Option<Vec<u8>> {
        let rest = std::mem::take(&mut self.pending);
        (!rest.trim_ascii().is_empty()).then_some(rest)
    }
}

fn parse_row(line: &[u8]) -> Result<TenantUsagePeriod> {
    let mut de = serde_json::Deserializer::from_slice(line);
    serde_path_to_error::deserialize(&mut de).map_err(|e| Error::decode(e, line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_parse_months_dates_and_times() {
        assert_eq!(
            "2026-02".parse::<UsageBound>().unwrap(),
            UsageBound::Date(NaiveDate::from_ymd_opt(2026, 2, 1).unwrap())
        );
        assert_eq!(
            "2026-12-05".parse::<UsageBound>().unwrap().to_string(),
            "2026-12-05"
        );
        assert_eq!(
            "2026-12-05T23:30:00-02:00"
                .parse::<UsageBound>()
                .unwrap()
                .to_string(),
            "2026-12-06T01:30:00Z"
        );
        for bad in ["", "2026", "2026-13", "2026-02-30", "12/05/2026", "now"] {
            assert!(bad.parse::<UsageBound>().is_err(), "{bad}");
        }
    }

    #[test]
    fn lines_come_out_whole_whatever_the_chunks() {
        let text = b"{\"a\":1}\n\n{\"b\":2}\n{\"c\":3}";
        for split in 1..text.len() {
            let mut lines = Lines::default();
            let mut got = Vec::new();
            for chunk in text.chunks(split) {
                lines.push(chunk);
                while let Some(line) = lines.next_line() {
                    got.push(String::from_utf8(line).unwrap().trim().to_owned());
                }
            }
            if let Some(rest) = lines.rest() {
                got.push(String::from_utf8(rest).unwrap());
            }
            assert_eq!(
                got,
                ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"],
                "chunks of {split}"
            );
        }
    }
}
