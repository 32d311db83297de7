//! `chalk events list|tail`: a tenant's events, newest first, or followed as they happen.

use std::collections::{HashSet, VecDeque};
use std::io::Write;
use std::time::Duration;

use chalk_sdk::model::{EventRecord, EventType, ListEventsQuery};
use clap::Subcommand;
use futures_util::{StreamExt, TryStreamExt};

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::output::{Block, Format, View};

#[derive(Debug, Subcommand)]
pub enum EventsCmd {
    /// A tenant's events, newest first (kept 30 days)
    #[command(after_help = "Examples:
  chalk events list tenant_abc123 --type room.ended
  chalk events list tenant_abc123 --limit 200 -o json | jq -r '.[].type'")]
    List {
        tenant: Option<String>,
        /// Only events of this type (room.ended, meeting.ended, ...)
        #[arg(long = "type", value_name = "TYPE")]
        event_type: Option<EventType>,
        /// At most this many
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Print the latest events, then follow new ones until interrupted (Ctrl-C)
    #[command(after_help = "With -o json, one event per line (JSON Lines).

Examples:
  chalk events tail tenant_abc123
  chalk events tail tenant_abc123 --type meeting.ended -o json | jq .data.room.id")]
    Tail {
        tenant: Option<String>,
        #[arg(long = "type", value_name = "TYPE")]
        event_type: Option<EventType>,
        /// How many past events to print first
        #[arg(long, default_value_t = 10)]
        last: usize,
        /// Seconds between polls
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=3600))]
        interval: u64,
    },
}

const TENANT_HOW: &str = "pass the tenant id as the first argument";
/// Ids remembered to recognise events already printed.
const REMEMBERED: usize = 10_000;

fn summary(event: &EventRecord) -> String {
    let data = &event.data;
    let pick = |path: &[&str]| {
        path.iter()
            .try_fold(data, |v, k| v.get(*k))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    pick(&["room", "id"])
        .or_else(|| pick(&["participant", "display_name"]))
        .or_else(|| pick(&["api_key", "id"]))
        .or_else(|| pick(&["endpoint_id"]))
        .or_else(|| pick(&["id"]))
        .unwrap_or_default()
}

fn rows(events: &[EventRecord]) -> Vec<Vec<String>> {
    events
        .iter()
        .map(|e| {
            vec![
                crate::output::time(e.created_at),
                e.event_type.clone(),
                e.id.clone(),
                summary(e),
            ]
        })
        .collect()
}

pub async fn run(ctx: &Context, cmd: EventsCmd) -> CliResult<Option<View>> {
    match cmd {
        EventsCmd::List {
            tenant,
            event_type,
            limit,
        } => {
            let tenant = ctx.require(tenant, "tenant id", TENANT_HOW)?;
            let query = ListEventsQuery {
                event_type,
                ..Default::default()
            };
            let events: Vec<EventRecord> = ctx
                .client()?
                .tenants()
                .events(&tenant)
                .list_all(query)
                .take(limit)
                .try_collect()
                .await?;
            let rows = rows(&events);
            Ok(Some(View::new(
                &events,
                vec![Block::Grid(vec!["at", "type", "id", "about"], rows)],
            )?))
        }
        EventsCmd::Tail {
            tenant,
            event_type,
            last,
            interval,
        } => {
            let tenant = ctx.require(tenant, "tenant id", TENANT_HOW)?;
            tail(
                ctx,
                &tenant,
                event_type,
                last,
                Duration::from_secs(interval),
            )
            .await?;
            Ok(None)
        }
    }
}

/// Newest first, until an event already seen (or `limit` events).
async fn newer(
    ctx: &Context,
    tenant: &str,
    event_type: Option<EventType>,
    seen: &HashSet<String>,
    limit: usize,
) -> CliResult<Vec<EventRecord>> {
    let query = ListEventsQuery {
        event_type,
        limit: Some(100),
        ..Default::default()
    };
    let client = ctx.client()?;
    let mut pages = client.tenants().events(tenant).list_all(query).boxed();
    let mut fresh = Vec::new();
    while let Some(event) = pages.try_next().await? {
        if seen.contains(&event.id) || fresh.len() >= limit {
            break;
        }
        fresh.push(event);
    }
    Ok(fresh)
}

async fn tail(
    ctx: &Context,
    tenant: &str,
    event_type: Option<EventType>,
    last: usize,
    interval: Duration,
) -> CliResult<()> {
    let mut seen = HashSet::new();
    let mut order = VecDeque::new();
    let mut first = true;
    loop {
        let limit = if first { last } else { usize::MAX };
        let mut fresh = newer(ctx, tenant, event_type, &seen, limit).await?;
        if first {
            // Everything older than what is printed first counts as seen, too.
            let all_newest = newer(ctx, tenant, event_type, &seen, last + 1).await?;
            if let Some(boundary) = all_newest.get(last) {
                seen.insert(boundary.id.clone());
                order.push_back(boundary.id.clone());
            }
            first = false;
        }
        fresh.reverse();
        let mut out = std::io::stdout().lock();
        for event in &fresh {
            let line = match ctx.format {
                Format::Json => serde_json::to_string(event)
                    .map_err(|e| CliError::other(format!("could not encode an event: {e}")))?,
                Format::Table => {
                    let row = &rows(std::slice::from_ref(event))[0];
                    row.join("  ")
                }
            };
            match writeln!(out, "{line}").and_then(|()| out.flush()) {
                Ok(()) => {}
                // The reader left (`| head`): done.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                Err(e) => return Err(CliError::other(format!("could not write: {e}"))),
            }
            seen.insert(event.id.clone());
            order.push_back(event.id.clone());
            if order.len() > REMEMBERED
                && let Some(old) = order.pop_front()
            {
                seen.remove(&old);
            }
        }
        drop(out);
        tokio::time::sleep(interval).await;
    }
}
