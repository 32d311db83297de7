//! `chalk audit list|tail`: the audit log (master or operator key; with a tenant API key,
//! `--tenant` reads that tenant's own log).

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use chalk_sdk::Client;
use chalk_sdk::model::{AuditEvent, ListAuditEventsQuery};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use futures_util::TryStreamExt;

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::output::{Block, View};
use crate::store::CredentialKind;

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// List audit entries, oldest first
    #[command(after_help = "Examples:
  chalk audit list --since 1h
  chalk audit list --tenant tenant_abc123 --action config.update
  chalk audit list --actor op_abc123 -o json | jq -r '.[] | [.at, .action, .request_id] | @tsv'")]
    List(Filters),
    /// Print entries as they are recorded, one JSON object per line, until interrupted
    #[command(after_help = "Examples:
  chalk audit tail
  chalk audit tail --tenant tenant_abc123 --since 10m | jq -c 'select(.outcome == \"denied\")'")]
    Tail {
        #[command(flatten)]
        filters: Filters,
        /// Seconds between polls
        #[arg(long, default_value_t = 2, value_name = "SECONDS")]
        interval: u64,
    },
}

#[derive(Debug, Args)]
pub struct Filters {
    /// Only entries about this tenant (with a tenant API key: its own log)
    #[arg(long, value_name = "TENANT_ID")]
    tenant: Option<String>,
    /// Only entries made by this credential (op_…, key_…, part_…)
    #[arg(long, value_name = "ID")]
    actor: Option<String>,
    /// Only this action (tenant.update, config.update, api_key.create, …)
    #[arg(long)]
    action: Option<String>,
    /// Entries at or after this time: a duration back from now (30s, 15m, 1h, 2d, 1w) or RFC 3339
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    since: Option<DateTime<Utc>>,
    /// Entries before this time (same forms as --since)
    #[arg(long, value_name = "WHEN", value_parser = parse_when)]
    until: Option<DateTime<Utc>>,
}

/// `1h`, `30m`, `2d`, `45s`, `1w` back from now, or an RFC 3339 time.
pub fn parse_when(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?}: give a unit (s, m, h, d, w) or an RFC 3339 time"))?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number before the unit, like 1h"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("{text:?}: the unit is one of s, m, h, d, w")),
    };
    let back = chrono::Duration::try_seconds(n.saturating_mul(seconds))
        .ok_or_else(|| format!("{text:?}: too far back"))?;
    Ok(Utc::now() - back)
}

/// Where the entries come from: the operator view, or a tenant's own log when the
/// credential is a tenant key.
struct Source {
    client: Client,
    own_tenant: Option<String>,
    query: ListAuditEventsQuery,
}

impl Source {
    fn new(ctx: &Context, filters: Filters) -> CliResult<Self> {
        let kind = ctx.credential()?.kind;
        let own_tenant = match (kind, &filters.tenant) {
            (Some(CredentialKind::ApiKey), Some(t)) => Some(t.clone()),
            (Some(CredentialKind::ApiKey), None) => {
                return Err(CliError::usage(
                    "with a tenant API key, pass --tenant TENANT_ID (a tenant reads its own log)",
                ));
            }
            _ => None,
        };
        let query = ListAuditEventsQuery {
            tenant_id: if own_tenant.is_some() {
                None
            } else {
                filters.tenant
            },
            actor_id: filters.actor,
            action: filters.action,
            since: filters.since,
            until: filters.until,
            limit: Some(200),
            cursor: None,
        };
        Ok(Self {
            client: ctx.client()?,
            own_tenant,
            query,
        })
    }

    /// Every entry matching the query from `since`, page after page (the SDK's walk).
    async fn all(&self, since: Option<DateTime<Utc>>) -> CliResult<Vec<AuditEvent>> {
        let query = ListAuditEventsQuery {
            since: since.or(self.query.since),
            ..self.query.clone()
        };
        let audit = self.client.audit();
        let entries = match &self.own_tenant {
            Some(t) => audit.list_all_for_tenant(t, query).try_collect().await?,
            None => audit.list_all(query).try_collect().await?,
        };
        Ok(entries)
    }
}

pub async fn run(ctx: &Context, cmd: AuditCmd) -> CliResult<Option<View>> {
    match cmd {
        AuditCmd::List(filters) => {
            let entries = Source::new(ctx, filters)?.all(None).await?;
            let rows = entries.iter().map(row).collect();
            Ok(Some(View::new(
                &entries,
                vec![Block::Grid(
                    vec![
                        "at", "action", "outcome", "actor", "target", "tenant", "client", "request",
                    ],
                    rows,
                )],
            )?))
        }
        AuditCmd::Tail { filters, interval } => {
            let source = Source::new(ctx, filters)?;
            tail(&source, Duration::from_secs(interval.max(1))).await?;
            Ok(None)
        }
    }
}

fn row(e: &AuditEvent) -> Vec<String> {
    let actor = match (&e.actor.id, &e.actor.name) {
        (Some(id), Some(name)) => format!("{} {id} ({name})", e.actor.kind.as_str()),
        (Some(id), None) => format!("{} {id}", e.actor.kind.as_str()),
        _ => e.actor.kind.as_str().to_owned(),
    };
    vec![
        crate::output::time(e.at),
        e.action.clone(),
        e.outcome.as_str().to_owned(),
        actor,
        format!("{} {}", e.target.kind, e.target.id),
        e.tenant_id.clone().unwrap_or_else(|| "-".to_owned()),
        e.client_ip.clone(),
        e.request_id.clone(),
    ]
}

/// Polls from the last entry's time (inclusive, so an entry of the same second recorded
/// after a poll is not missed) and prints each entry once.
async fn tail(source: &Source, interval: Duration) -> CliResult<()> {
    let mut since = source.query.since;
    let mut printed_at_since: HashSet<String> = HashSet::new();
    let mut stop = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let entries = source.all(since).await?;
        let mut out = std::io::stdout().lock();
        for entry in entries {
            if printed_at_since.contains(&entry.id) {
                continue;
            }
            if since != Some(entry.at) {
                since = Some(entry.at);
                printed_at_since.clear();
            }
            printed_at_since.insert(entry.id.clone());
            let line = serde_json::to_string(&entry)
                .map_err(|e| CliError::other(format!("could not encode an entry: {e}")))?;
            writeln!(out, "{line}")
                .and_then(|()| out.flush())
                .map_err(|e| CliError::other(format!("could not write: {e}")))?;
        }
        drop(out);
        tokio::select! {
            _ = &mut stop => return Ok(()),
            () = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_duration_back_or_a_time() {
        let hour_ago = parse_when("1h").unwrap();
        let back = Utc::now() - hour_ago;
        assert!(back >= chrono::Duration::minutes(59) && back <= chrono::Duration::minutes(61));
        let two_days_ago = parse_when("2d").unwrap();
        assert!(Utc::now() - two_days_ago >= chrono::Duration::days(2));
        assert_eq!(
            parse_when("2026-01-02T03:04:05Z").unwrap().to_rfc3339(),
            "2026-01-02T03:04:05+00:00"
        );
        for bad in ["", "h", "1y", "1.5h", "yesterday"] {
            assert!(parse_when(bad).is_err(), "{bad}");
        }
    }
}
