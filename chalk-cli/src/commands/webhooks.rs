//! `chalk webhooks endpoints create|list|get|update|delete|rotate-secret|test` and
//! `chalk webhooks deliveries list|retry`.

use chalk_sdk::model::{
    CreateWebhookEndpointRequest, DeliveryStatus, ListDeliveriesQuery, ListQuery, Patch,
    RotateWebhookSecretRequest, UpdateWebhookEndpointRequest, WebhookDelivery, WebhookEndpoint,
};
use clap::Subcommand;
use futures_util::{StreamExt, TryStreamExt};

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::output::{Block, View, flatten};

#[derive(Debug, Subcommand)]
pub enum WebhooksCmd {
    /// A tenant's webhook endpoints
    #[command(subcommand)]
    Endpoints(EndpointsCmd),
    /// The delivery log: every attempt, and retry by hand
    #[command(subcommand)]
    Deliveries(DeliveriesCmd),
}

#[derive(Debug, Subcommand)]
pub enum EndpointsCmd {
    /// Create an endpoint; its whsec_ secret is printed this once
    #[command(
        after_help = "Events: room.created, room.started, room.ended, participant.joined,
participant.left, tenant.updated, tenant.config_updated, tenant.suspended, tenant.resumed,
api_key.created, api_key.revoked, api_key.rotated, api_key.expiring, meeting.ended,
webhook.test; or * for all.

Examples:
  chalk webhooks endpoints create tenant_abc123 --url https://api.acme.edu/chalk --event room.ended,meeting.ended
  chalk webhooks endpoints create tenant_abc123 --url https://api.acme.edu/chalk --event '*' --disabled"
    )]
    Create {
        tenant: Option<String>,
        /// https:// URL the events are POSTed to
        #[arg(long)]
        url: Option<String>,
        /// Event types, repeated or comma-separated; `*` for all
        #[arg(long = "event", value_delimiter = ',', required = true)]
        events: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        /// Create it disabled (it receives nothing until enabled)
        #[arg(long)]
        disabled: bool,
    },
    /// List a tenant's endpoints (never their secrets)
    #[command(after_help = "Example:\n  chalk webhooks endpoints list tenant_abc123")]
    List { tenant: Option<String> },
    /// Show one endpoint
    Get {
        tenant: Option<String>,
        endpoint: Option<String>,
    },
    /// Change an endpoint's URL, events, description or enabled
    #[command(after_help = "Examples:
  chalk webhooks endpoints update tenant_abc123 we_123 --event '*'
  chalk webhooks endpoints update tenant_abc123 we_123 --disable
  chalk webhooks endpoints update tenant_abc123 we_123 --clear-description")]
    Update {
        tenant: Option<String>,
        endpoint: Option<String>,
        #[arg(long)]
        url: Option<String>,
        /// Replaces the event list
        #[arg(long = "event", value_delimiter = ',')]
        events: Option<Vec<String>>,
        #[arg(long, conflicts_with = "clear_description")]
        description: Option<String>,
        #[arg(long)]
        clear_description: bool,
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        #[arg(long)]
        disable: bool,
    },
    /// Delete an endpoint (asks first; `--yes` without a terminal)
    Delete {
        tenant: Option<String>,
        endpoint: Option<String>,
        #[arg(short, long)]
        yes: bool,
    },
    /// A new secret, printed this once; the previous one keeps signing for the overlap
    #[command(after_help = "Example:
  chalk webhooks endpoints rotate-secret tenant_abc123 we_123 --expire-previous-in 3600")]
    RotateSecret {
        tenant: Option<String>,
        endpoint: Option<String>,
        /// Seconds the previous secret keeps signing (0..=604800; default 86400)
        #[arg(long, value_name = "SECONDS")]
        expire_previous_in: Option<i64>,
    },
    /// Send a webhook.test event to the endpoint now
    Test {
        tenant: Option<String>,
        endpoint: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCmd {
    /// Deliveries, newest first, with their attempts
    #[command(after_help = "Examples:
  chalk webhooks deliveries list tenant_abc123 --status exhausted
  chalk webhooks deliveries list tenant_abc123 --event evt_123 -o json")]
    List {
        tenant: Option<String>,
        /// pending, succeeded, failed or exhausted
        #[arg(long)]
        status: Option<String>,
        #[arg(long, value_name = "ENDPOINT_ID")]
        endpoint: Option<String>,
        #[arg(long, value_name = "EVENT_ID")]
        event: Option<String>,
        /// At most this many (newest first)
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Send a failed or exhausted delivery again now (same webhook-id)
    Retry {
        tenant: Option<String>,
        delivery: Option<String>,
    },
}

const TENANT_HOW: &str = "pass the tenant id as the first argument";
const ENDPOINT_HOW: &str = "pass the endpoint id (we_...) after the tenant id";

fn endpoint_rows(endpoints: &[WebhookEndpoint]) -> Vec<Vec<String>> {
    endpoints
        .iter()
        .map(|e| {
            vec![
                e.id.clone(),
                e.url.clone(),
                e.events.join(", "),
                if e.enabled { "yes".into() } else { "no".into() },
                e.description.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect()
}

pub async fn run(ctx: &Context, cmd: WebhooksCmd) -> CliResult<View> {
    match cmd {
        WebhooksCmd::Endpoints(cmd) => endpoints(ctx, cmd).await,
        WebhooksCmd::Deliveries(cmd) => deliveries(ctx, cmd).await,
    }
}

async fn endpoints(ctx: &Context, cmd: EndpointsCmd) -> CliResult<View> {
    match cmd {
        EndpointsCmd::Create {
            tenant,
            url,
            events,
            description,
            disabled,
        } => {
            let tenant = ctx.require(tenant, "tenant id", TENANT_HOW)?;
            let url = ctx.require(url, "URL", "pass --url https://...")?;
            let request = CreateWebhookEndpointRequest {
                url,
                events,
                description,
                enabled: Some(!disabled),
            };
            let created = ctx
                .client()?
                .tenants()
                .webhook_endpoints(&tenant)
                .create(&request)
                .await?;
            let mut view = View::new(&created, Vec::new())?;
            let rows = flatten(&view.json)
                .into_iter()
                .filter(|(k, _)| k != "secret")
                .collect();
            view.blocks.push(Block::Fields(rows));
            view.blocks.push(Block::Secret {
                label: format!("signing secret of {}", created.endpoint.id),
                value: created.secret.expose().to_owned(),
            });
            Ok(view)
        }
        EndpointsCmd::List { tenant } => {
            let tenant = ctx.require(tenant, "tenant id", TENANT_HOW)?;
            let endpoints: Vec<WebhookEndpoint> = ctx
                .client()?
                .tenants()
                .webhook_endpoints(&tenant)
                .list_all(ListQuery::default())
                .try_collect()
                .await?;
            let rows = endpoint_rows(&endpoints);
            View::new(
                &endpoints,
                vec![Block::Grid(
                    vec!["id", "url", "events", "enabled", "description"],
                    rows,
                )],
            )
        }
        EndpointsCmd::Get { tenant, endpoint } => {
            let tenant = ctx.require(tenant, "tenant id", TENANT_HOW)?;
            let endpoint = ctx.require(endpoint, "endpoint id", ENDPOINT_HOW)?;
            let found = ctx
                .client()?
                .tenants()
                .webhook_endpoints(&tenant)
                .get(&endpoint)
                .await?;
            View::fields(&found)
        }
        EndpointsCmd::Update {
            tenant,
            endpoint,
            url,
            events,
            description,
            clear_description,
            enable,
            disable,
        } => {
            let tenant = ctx.require(tenant, "tenant id", TENANT_HOW)?;
            let endpoint = ctx.require(endpoint, "endpoint id", ENDPOINT_HOW)?;
            let request = UpdateWebhookEndpointRequest {
                url,
                events,
                description: match (description, clear_description) {
                    (Some(d), _) => Patch::Set(d),
                    (None, true) => Patch::Reset,
                    (None, false) => Patch::Absent,
                },
                enabled: match (enable, disable) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
            };
            if request == UpdateWebhookEndpointRequest::default() {
                return Err(CliError::usage(
                    "nothing to change: pass --url, --event, --description, --clear-description, --enable or --disable",
                ));
            }
            let updated = ctx
                .client()?
                .tenants()
                .webhook_endpoints(&tenant)
                .update(&endpoint, &request)
                .await?;
            View::fields(&updated)
        }
        EndpointsCmd::Delete {
            tenant,
            endpoint,
            yes,
        } => {
            let tenant = ctx.require(tenant, "tenant id", TENANT_HOW)?;
            let endpoint = ctx.require(endpoint, "endpoint id", ENDPOINT_HOW)?;
            ctx.confirm(
                yes,
                &format!(
                    "Delete endpoint {endpoint} of {tenant}? Its unsent deliveries are dropped."
                ),
            )?;
            let deleted = ctx
                .client()?
                .tenants()
                .webhook_endpoints(&tenant)
                .delete(&endpoint)
                .await?;
            View::fields(&deleted)
        }
        EndpointsCmd::RotateSecret {
            tenant,
            endpoint,
            expire_previous_in,
        } => {
            let tenant = ctx.require(tenant, "tenant id", TENANT_HOW)?;
            let endpoint = ctx.require(endpoint, "endpoint id", ENDPOINT_HOW)?;
            let rotated = ctx
                .client()?
                .tenants()
                .webhook_endpoints(&tenant)
                .rotate_secret(
                    &endpoint,
                    &RotateWebhookSecretRequest {
                        expire_previous_in_seconds: expire_previous_in,
                    },
                )
                .await?;
            let mut view = View::new(&rotated, Vec::new())?;
            let rows = flatten(&view.json)
                .into_iter()
                .filter(|(k, _)| k != "secret")
                .collect();
            view.blocks.push(Block::Fields(rows));
            view.blocks.push(Block::Secret {
                label: format!("new signing secret of {endpoint}"),
                value: rotated.secret.expose().to_owned(),
            });
            Ok(view)
        }
        EndpointsCmd::Test { tenant, endpoint } => {
            let tenant = ctx.require(tenant, "tenant id", TENANT_HOW)?;
            let endpoint = ctx.require(endpoint, "endpoint id", ENDPOINT_HOW)?;
            let sent = ctx
                .client()?
                .tenants()
                .webhook_endpoints(&tenant)
                .test(&endpoint)
                .await?;
            View::fields(&sent)
        }
    }
}

fn delivery_rows(deliveries: &[WebhookDelivery]) -> Vec<Vec<String>> {
    deliveries
        .iter()
        .map(|d| {
            let last = d.attempts.last().map_or_else(
                || "-".to_owned(),
                |a| match (&a.status_code, &a.error) {
                    (Some(code), _) => format!("HTTP {code}"),
                    (None, Some(error)) => error.clone(),
                    (None, None) => "-".to_owned(),
                },
            );
            vec![
                d.id.clone(),
                d.event_type.clone(),
                d.endpoint_id
                    .clone()
                    .unwrap_or_else(|| "post_meeting_webhook".into()),
                d.status.to_string(),
                d.attempts.len().to_string(),
                last,
                d.next_attempt_at
                    .map_or_else(|| "-".to_owned(), crate::output::time),
            ]
        })
        .collect()
}

async fn deliveries(ctx: &Context, cmd: DeliveriesCmd) -> CliResult<View> {
    match cmd {
        DeliveriesCmd::List {
            tenant,
            status,
            endpoint,
            event,
            limit,
        } => {
            let tenant = ctx.require(tenant, "tenant id", TENANT_HOW)?;
            let status = status
                .map(|s| s.parse::<DeliveryStatus>())
                .transpose()
                .map_err(CliError::usage)?;
            let query = ListDeliveriesQuery {
                status,
                endpoint_id: endpoint,
                event_id: event,
                ..Default::default()
            };
            let found: Vec<WebhookDelivery> = ctx
                .client()?
                .tenants()
                .webhook_deliveries(&tenant)
                .list_all(query)
                .take(limit)
                .try_collect()
                .await?;
            let rows = delivery_rows(&found);
            View::new(
                &found,
                vec![Block::Grid(
                    vec![
                        "id", "event", "endpoint", "status", "attempts", "last", "next",
                    ],
                    rows,
                )],
            )
        }
        DeliveriesCmd::Retry { tenant, delivery } => {
            let tenant = ctx.require(tenant, "tenant id", TENANT_HOW)?;
            let delivery = ctx.require(
                delivery,
                "delivery id",
                "pass the delivery id (whd_...) after the tenant id",
            )?;
            let retried = ctx
                .client()?
                .tenants()
                .webhook_deliveries(&tenant)
                .retry(&delivery)
                .await?;
            View::fields(&retried)
        }
    }
}
