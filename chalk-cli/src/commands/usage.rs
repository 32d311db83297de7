//! `chalk usage [TENANT]`: a tenant's metered usage per hour, day or month, as a table with
//! a bar chart of participant-minutes beneath it on a terminal; `chalk usage export`: every
//! tenant's usage as CSV or NDJSON for a billing import (master or operator key).

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chalk_sdk::model::{Granularity, Usage, UsageMetrics, UsagePeriod};
use chalk_sdk::usage::{UsageBound, UsageExport};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use futures_util::TryStreamExt;

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::output::{Block, View};
use crate::store::CredentialKind;

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Dates: a month (2026-12), a date (2026-12-05, midnight UTC) or an RFC 3339 time.
Default range: the current month up to now, by day.

Examples:
  chalk usage tenant_abc123
  chalk usage tenant_abc123 --from 2026-12-05 --to 2026-12-06 --granularity hour
  chalk usage --from 2026-11 --to 2026-12 -o json          # with the tenant's own API key
  chalk usage export --format csv --from 2026-11 --to 2026-12 -O usage-2026-11.csv"
)]
pub struct UsageArgs {
    #[command(subcommand)]
    command: Option<UsageCmd>,
    /// The tenant (default, with a tenant API key: the calling tenant)
    #[arg(value_name = "TENANT_ID")]
    tenant: Option<String>,
    #[command(flatten)]
    range: Range,
}

#[derive(Debug, Subcommand)]
enum UsageCmd {
    /// Every tenant's usage, one row per tenant and period, as CSV or NDJSON (master or
    /// operator key)
    Export(ExportArgs),
}

#[derive(Debug, Args)]
struct Range {
    /// Start, inclusive (default: the start of the current month)
    #[arg(long, value_name = "WHEN")]
    from: Option<UsageBound>,
    /// End, exclusive (default: now)
    #[arg(long, value_name = "WHEN")]
    to: Option<UsageBound>,
    /// Period length [default: day]
    #[arg(long, value_enum)]
    granularity: Option<Period>,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// csv (a header row, then one row per tenant and period) or ndjson (one JSON object a line)
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    format: ExportFormat,
    #[command(flatten)]
    range: Range,
    /// Write to this file (replaced only once the export is complete) instead of stdout
    #[arg(short = 'O', long = "output-file", value_name = "FILE")]
    output_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Period {
    Hour,
    Day,
    Month,
}

impl From<Period> for Granularity {
    fn from(period: Period) -> Self {
        match period {
            Period::Hour => Granularity::Hour,
            Period::Day => Granularity::Day,
            Period::Month => Granularity::Month,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    Csv,
    Ndjson,
}

pub async fn run(ctx: &Context, args: UsageArgs) -> CliResult<Option<View>> {
    match args.command {
        Some(UsageCmd::Export(export)) => {
            self::export(ctx, export).await?;
            Ok(None)
        }
        None => show(ctx, args.tenant, args.range).await.map(Some),
    }
}

async fn show(ctx: &Context, tenant: Option<String>, range: Range) -> CliResult<View> {
    let client = ctx.client()?;
    let tenant = match tenant {
        Some(tenant) => tenant,
        None if ctx.credential()?.kind == Some(CredentialKind::ApiKey) => {
            client.tenants().current().await?.id
        }
        None => {
            return Err(CliError::usage(
                "name the tenant: chalk usage TENANT_ID (chalk usage export reads every tenant)",
            ));
        }
    };
    let granularity = range.granularity.map(Granularity::from).unwrap_or_default();
    let mut request = client.usage(&tenant).granularity(granularity);
    if let Some(from) = range.from {
        request = request.from(from);
    }
    if let Some(to) = range.to {
        request = request.to(to);
    }
    let usage = request.await?;
    let blocks = blocks(&usage, granularity, io::stdout().is_terminal());
    View::new(&usage, blocks)
}

const COLUMNS: [&str; 10] = [
    "period",
    "participant min",
    "room min",
    "peak",
    "joined",
    "rooms",
    "token exchanges",
    "api requests",
    "webhooks",
    "webhook failures",
];

/// The table, its totals, and on a terminal the chart of participant-minutes.
fn blocks(usage: &Usage, granularity: Granularity, chart: bool) -> Vec<Block> {
    let mut rows: Vec<Vec<String>> = usage
        .data
        .iter()
        .map(|p| row(label(p.period_start, granularity), &p.metrics))
        .collect();
    rows.push(row("total".to_owned(), &usage.totals));
    let mut blocks = vec![Block::Grid(COLUMNS.to_vec(), rows)];
    if chart && !usage.data.is_empty() {
        blocks.push(Block::Bars {
            title: "participant-minutes".to_owned(),
            rows: usage
                .data
                .iter()
                .map(|p: &UsagePeriod| {
                    (
                        label(p.period_start, granularity),
                        minutes(p.metrics.participant_seconds),
                    )
                })
                .collect(),
        });
    }
    blocks
}

fn row(period: String, m: &UsageMetrics) -> Vec<String> {
    vec![
        period,
        format_minutes(minutes(m.participant_seconds)),
        format_minutes(minutes(m.room_seconds)),
        m.peak_participants.to_string(),
        m.participants_joined.to_string(),
        m.rooms_created.to_string(),
        m.token_exchanges.to_string(),
        m.api_requests.to_string(),
        m.webhook_deliveries.to_string(),
        m.webhook_failures.to_string(),
    ]
}

fn minutes(seconds: i64) -> f64 {
    seconds as f64 / 60.0
}

fn format_minutes(minutes: f64) -> String {
    format!("{minutes:.1}")
}

/// A period as people name it: `2026-12-05 14:00`, `2026-12-05`, `2026-12`.
fn label(start: DateTime<Utc>, granularity: Granularity) -> String {
    let format = match granularity {
        Granularity::Hour => "%Y-%m-%d %H:00",
        Granularity::Day => "%Y-%m-%d",
        Granularity::Month => "%Y-%m",
    };
    start.format(format).to_string()
}

async fn export(ctx: &Context, args: ExportArgs) -> CliResult<()> {
    let client = ctx.client()?;
    let mut export = client.usage_export();
    if let Some(granularity) = args.range.granularity {
        export = export.granularity(granularity.into());
    }
    if let Some(from) = args.range.from {
        export = export.from(from);
    }
    if let Some(to) = args.range.to {
        export = export.to(to);
    }
    match &args.output_file {
        Some(path) => {
            let dir = match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            // A unique name beside the file, renamed over it once complete: an interrupted
            // export leaves the previous file (or none), never half of one.
            let mut tmp = tempfile::Builder::new()
                .prefix(".chalk-usage-")
                .suffix(".tmp")
                .tempfile_in(dir)
                .map_err(|e| write_failed(path, e))?;
            let progress = Progress::new(io::stderr().is_terminal());
            let written = match write(export, args.format, &mut tmp, progress).await {
                Ok(written) => written,
                Err(Failure::Read(e)) => return Err(e),
                Err(Failure::Write(e)) => return Err(write_failed(path, e)),
            };
            tmp.as_file()
                .sync_all()
                .map_err(|e| write_failed(path, e))?;
            tmp.persist(path).map_err(|e| write_failed(path, e.error))?;
            eprintln!("exported {written} rows to {}", path.display());
        }
        None => {
            let stdout = io::stdout();
            // Progress only when the export goes somewhere else than the terminal it would
            // be drawn on.
            let progress = Progress::new(io::stderr().is_terminal() && !stdout.is_terminal());
            let mut out = stdout.lock();
            match write(export, args.format, &mut out, progress).await {
                Ok(_) => {}
                // `chalk usage export | head`: the reader left, nothing to report.
                Err(Failure::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => {}
                Err(Failure::Write(e)) => {
                    return Err(CliError::other(format!("could not write the export: {e}")));
                }
                Err(Failure::Read(e)) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Why an export stopped: reading it from the server, or writing it out.
enum Failure {
    Read(CliError),
    Write(io::Error),
}

impl From<chalk_sdk::Error> for Failure {
    fn from(error: chalk_sdk::Error) -> Self {
        Failure::Read(error.into())
    }
}

/// Copies the export to `out` as it arrives; the number of rows written.
async fn write(
    export: UsageExport<'_>,
    format: ExportFormat,
    out: &mut impl Write,
    mut progress: Progress,
) -> Result<u64, Failure> {
    let mut rows = 0u64;
    match format {
        ExportFormat::Csv => {
            let mut chunks = std::pin::pin!(export.csv());
            while let Some(chunk) = chunks.try_next().await? {
                rows += chunk.iter().filter(|b| **b == b'\n').count() as u64;
                out.write_all(&chunk).map_err(Failure::Write)?;
                // The header row is not a row of usage.
                progress.show(rows.saturating_sub(1));
            }
            rows = rows.saturating_sub(1);
        }
        ExportFormat::Ndjson => {
            let mut lines = std::pin::pin!(export.rows());
            while let Some(row) = lines.try_next().await? {
                serde_json::to_writer(&mut *out, &row)
                    .map_err(io::Error::other)
                    .and_then(|()| out.write_all(b"\n"))
                    .map_err(Failure::Write)?;
                rows += 1;
                progress.show(rows);
            }
        }
    }
    out.flush().map_err(Failure::Write)?;
    progress.finish();
    Ok(rows)
}

fn write_failed(path: &Path, e: io::Error) -> CliError {
    CliError::other(format!("could not write {}: {e}", path.display()))
}

/// `exported N rows…` on stderr, redrawn at most a few times a second, for an export long
/// enough to wonder about.
struct Progress {
    enabled: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        Self {
            enabled,
            last: None,
            drawn: false,
        }
    }

    fn show(&mut self, rows: u64) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        let first = *self.last.get_or_insert(now);
        // Quick exports finish before anything is drawn.
        if now.duration_since(first) < Duration::from_millis(300) && !self.drawn {
            return;
        }
        let mut err = io::stderr().lock();
        let _ = write!(err, "\rexporting… {rows} rows");
        let _ = err.flush();
        self.drawn = true;
    }

    fn finish(&mut self) {
        if self.drawn {
            let mut err = io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(start: &str, seconds: i64) -> UsagePeriod {
        let start: DateTime<Utc> = start.parse().unwrap();
        UsagePeriod {
            period_start: start,
            period_end: start + chrono::Duration::days(1),
            metrics: UsageMetrics {
                participant_seconds: seconds,
                ..Default::default()
            },
        }
    }

    #[test]
    fn the_table_has_a_row_per_period_and_the_totals_and_the_chart_only_on_a_terminal() {
        let usage = Usage {
            data: vec![
                period("2026-12-04T00:00:00Z", 90),
                period("2026-12-05T00:00:00Z", 0),
            ],
            totals: UsageMetrics {
                participant_seconds: 90,
                ..Default::default()
            },
        };
        let blocks = blocks(&usage, Granularity::Day, false);
        assert_eq!(blocks.len(), 1);
        let Block::Grid(header, rows) = &blocks[0] else {
            panic!("a grid first")
        };
        assert_eq!(header[0], "period");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][..2], ["2026-12-04", "1.5"]);
        assert_eq!(rows[2][..2], ["total", "1.5"]);
        let blocks = super::blocks(&usage, Granularity::Hour, true);
        let Block::Bars { rows, .. } = &blocks[1] else {
            panic!("a chart second")
        };
        assert_eq!(rows[0], ("2026-12-04 00:00".to_owned(), 1.5));
        assert_eq!(rows[1].1, 0.0);
    }
}
