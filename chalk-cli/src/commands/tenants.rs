//! `chalk tenants ...`: create, list, get, update, delete, rotate-key, suspend, resume.

use chalk_sdk::model::{
    CreateTenantRequest, ListTenantsQuery, Patch, RotateKeyRequest, Tenant, TenantStatus,
    UpdateTenantRequest,
};
use clap::Subcommand;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::json;

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::output::{Block, View, flatten, order_rows};

/// The rows a person looks for first; config, timestamps and usage follow.
const TENANT_FIRST_ROWS: &[&str] = &[
    "id",
    "name",
    "email",
    "external_id",
    "status",
    "key_id",
    "max_concurrent_rooms",
    "max_participants_per_room",
    "max_recording_duration_minutes",
    "rate_limit_per_minute",
];

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum StatusArg {
    Active,
    Suspended,
}

#[derive(Debug, Subcommand)]
pub enum TenantsCmd {
    /// Create a tenant; its API key is printed this once
    #[command(after_help = "Examples:
  chalk tenants create \"Acme University\" --email ops@acme.edu --max-concurrent-rooms 50
  chalk tenants create Acme --external-id acme --idempotency-key ci-acme -o json | jq -r .api_key")]
    Create {
        /// Display name (1..=200 characters); asked for on a terminal when left out
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Your stable name for the tenant ([a-z0-9][a-z0-9._-]{0,62}), unique; master key only
        #[arg(long, value_name = "ID")]
        external_id: Option<String>,
        #[arg(long, value_name = "N")]
        max_concurrent_rooms: Option<i64>,
        #[arg(long, value_name = "N")]
        max_participants_per_room: Option<i64>,
        #[arg(long, value_name = "MINUTES")]
        max_recording_duration_minutes: Option<i64>,
        #[arg(long, value_name = "N")]
        rate_limit_per_minute: Option<i64>,
        /// Same key and body within 24 h returns the first tenant again (safe CI re-runs)
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
    },
    /// List tenants (master key), every page
    #[command(after_help = "Examples:
  chalk tenants list
  chalk tenants list --status suspended -o json | jq -r '.[].id'
  chalk tenants list --external-id acme -o json | jq -r '.[0].id // empty'")]
    List {
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only the tenant with this external id (none or one)
        #[arg(long, value_name = "ID")]
        external_id: Option<String>,
        /// Stop after this many tenants
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// Show a tenant with its config and usage
    #[command(after_help = "Examples:
  chalk tenants get tenant_abc123
  ETAG=$(chalk tenants get tenant_abc123 --etag)")]
    Get {
        id: Option<String>,
        /// Print only the ETag, for `update --if-match`
        #[arg(long)]
        etag: bool,
    },
    /// Change a tenant's name, email, external id or quotas (external id and quotas need the master key)
    #[command(after_help = "Examples:
  chalk tenants update tenant_abc123 --name \"Acme U\" --clear-email
  chalk tenants update tenant_abc123 --external-id acme-university
  chalk tenants update tenant_abc123 --max-concurrent-rooms 200 --if-match \"$ETAG\"")]
    Update {
        id: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, conflicts_with = "clear_email")]
        email: Option<String>,
        /// Remove the contact email
        #[arg(long)]
        clear_email: bool,
        /// Set the external id ([a-z0-9][a-z0-9._-]{0,62}); master key only
        #[arg(long, value_name = "ID", conflicts_with = "clear_external_id")]
        external_id: Option<String>,
        /// Remove the external id; master key only
        #[arg(long)]
        clear_external_id: bool,
        #[arg(long, value_name = "N")]
        max_concurrent_rooms: Option<i64>,
        #[arg(long, value_name = "N")]
        max_participants_per_room: Option<i64>,
        #[arg(long, value_name = "MINUTES")]
        max_recording_duration_minutes: Option<i64>,
        #[arg(long, value_name = "N")]
        rate_limit_per_minute: Option<i64>,
        /// Apply only if the tenant still has this ETag (412 otherwise)
        #[arg(long, value_name = "ETAG")]
        if_match: Option<String>,
    },
    /// Delete a tenant and everything it owns (asks first; `--yes` without a terminal)
    #[command(after_help = "Examples:
  chalk tenants delete tenant_abc123
  chalk tenants delete tenant_abc123 --yes")]
    Delete {
        id: Option<String>,
        /// Do not ask for confirmation
        #[arg(short, long)]
        yes: bool,
    },
    /// Issue a new primary API key, printed this once (asks first)
    #[command(after_help = "Examples:
  chalk tenants rotate-key tenant_abc123 --expire-previous-in 3600
  chalk tenants rotate-key tenant_abc123 --yes -o json | jq -r .api_key")]
    RotateKey {
        id: Option<String>,
        /// Keep the previous key working this many seconds (0..=604800; default 0)
        #[arg(long, value_name = "SECONDS")]
        expire_previous_in: Option<i64>,
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
        #[arg(short, long)]
        yes: bool,
    },
    /// Suspend a tenant: its credentials get 403 until resumed (master key; asks first)
    #[command(after_help = "Example:\n  chalk tenants suspend tenant_abc123 --yes")]
    Suspend {
        id: Option<String>,
        #[arg(short, long)]
        yes: bool,
    },
    /// Resume a suspended tenant (master key)
    #[command(after_help = "Example:\n  chalk tenants resume tenant_abc123")]
    Resume { id: Option<String> },
}

const ID_HOW: &str = "pass the tenant id (tenant_...) as an argument";

pub async fn run(ctx: &Context, cmd: TenantsCmd) -> CliResult<View> {
    match cmd {
        TenantsCmd::Create {
            name,
            email,
            external_id,
            max_concurrent_rooms,
            max_participants_per_room,
            max_recording_duration_minutes,
            rate_limit_per_minute,
            idempotency_key,
        } => {
            let name = ctx.require(name, "tenant name", "pass it as the first argument")?;
            let request = CreateTenantRequest {
                email,
                external_id,
                max_concurrent_rooms,
                max_participants_per_room,
                max_recording_duration_minutes,
                rate_limit_per_minute,
                ..CreateTenantRequest::new(name)
            };
            let client = ctx.client()?;
            let created = match idempotency_key {
                Some(key) => {
                    client
                        .tenants()
                        .create_with_idempotency_key(&request, key)
                        .await?
                }
                None => client.tenants().create(&request).await?,
            };
            let mut view = tenant_view(&created)?;
            view.blocks.push(Block::Secret {
                label: format!(
                    "API key of {} (key id {})",
                    created.tenant.id, created.key_id
                ),
                value: created.api_key.expose().to_owned(),
            });
            Ok(view)
        }
        TenantsCmd::List {
            status,
            external_id,
            limit,
        } => {
            let query = ListTenantsQuery {
                status: status.map(|s| match s {
                    StatusArg::Active => TenantStatus::Active,
                    StatusArg::Suspended => TenantStatus::Suspended,
                }),
                limit: limit.map(|l| l.clamp(1, 200) as u32),
                external_id,
                ..Default::default()
            };
            let client = ctx.client()?;
            let stream = client.tenants().list_all(query);
            let tenants: Vec<Tenant> = match limit {
                Some(limit) => stream.take(limit).try_collect().await?,
                None => stream.try_collect().await?,
            };
            let rows = tenants
                .iter()
                .map(|t| {
                    vec![
                        t.id.clone(),
                        t.name.clone(),
                        t.external_id.clone().unwrap_or_else(|| "-".into()),
                        t.email.clone().unwrap_or_else(|| "-".into()),
                        t.status.as_str().to_owned(),
                        format!("{}/{}", t.usage.active_rooms, t.max_concurrent_rooms),
                        crate::output::time(t.created_at),
                    ]
                })
                .collect();
            View::new(
                &tenants,
                vec![Block::Grid(
                    vec![
                        "id",
                        "name",
                        "external_id",
                        "email",
                        "status",
                        "rooms",
                        "created",
                    ],
                    rows,
                )],
            )
        }
        TenantsCmd::Get { id, etag } => {
            let id = ctx.require(id, "tenant id", ID_HOW)?;
            let (tenant, tag) = ctx.client()?.tenants().get_with_etag(&id).await?;
            if etag {
                return View::new(&tag, vec![Block::Line(tag.clone())]);
            }
            let mut view = tenant_view(&tenant)?;
            if let Some(Block::Fields(rows)) = view.blocks.first_mut() {
                rows.push(("etag".into(), tag));
            }
            Ok(view)
        }
        TenantsCmd::Update {
            id,
            name,
            email,
            clear_email,
            external_id,
            clear_external_id,
            max_concurrent_rooms,
            max_participants_per_room,
            max_recording_duration_minutes,
            rate_limit_per_minute,
            if_match,
        } => {
            let id = ctx.require(id, "tenant id", ID_HOW)?;
            let request = UpdateTenantRequest {
                name,
                email: match (email, clear_email) {
                    (Some(email), _) => Patch::Set(email),
                    (None, true) => Patch::Reset,
                    (None, false) => Patch::Absent,
                },
                max_concurrent_rooms,
                max_participants_per_room,
                max_recording_duration_minutes,
                rate_limit_per_minute,
                external_id: match (external_id, clear_external_id) {
                    (Some(external_id), _) => Patch::Set(external_id),
                    (None, true) => Patch::Reset,
                    (None, false) => Patch::Absent,
                },
                status: None,
            };
            if request == UpdateTenantRequest::default() {
                return Err(CliError::usage(
                    "nothing to change: pass at least one of --name, --email, --clear-email, --external-id, --clear-external-id, --max-concurrent-rooms, --max-participants-per-room, --max-recording-duration-minutes, --rate-limit-per-minute",
                ));
            }
            let client = ctx.client()?;
            let tenant = match if_match {
                Some(etag) => {
                    client
                        .tenants()
                        .update_if_match(&id, &etag, &request)
                        .await?
                }
                None => client.tenants().update(&id, &request).await?,
            };
            tenant_view(&tenant)
        }
        TenantsCmd::Delete { id, yes } => {
            let id = ctx.require(id, "tenant id", ID_HOW)?;
            ctx.confirm(
                yes,
                &format!("Delete tenant {id} with all its keys, config and rooms?"),
            )?;
            let deleted = ctx.client()?.tenants().delete(&id).await?;
            View::fields(&deleted)
        }
        TenantsCmd::RotateKey {
            id,
            expire_previous_in,
            idempotency_key,
            yes,
        } => {
            let id = ctx.require(id, "tenant id", ID_HOW)?;
            let when = match expire_previous_in {
                Some(s) if s > 0 => format!("it keeps working for {s} seconds"),
                _ => "it and every token it minted stop working at once".to_owned(),
            };
            ctx.confirm(
                yes,
                &format!("Issue a new primary key for {id}? The current one is replaced: {when}."),
            )?;
            let request = RotateKeyRequest {
                expire_previous_in_seconds: expire_previous_in,
            };
            let client = ctx.client()?;
            let rotated = match idempotency_key {
                Some(key) => {
                    client
                        .tenants()
                        .rotate_key_with_idempotency_key(&id, &request, key)
                        .await?
                }
                None => client.tenants().rotate_key(&id, &request).await?,
            };
            let json = json!({
                "api_key": rotated.api_key.expose(),
                "key_id": rotated.key_id,
                "previous_key_expires_at": rotated.previous_key_expires_at,
            });
            let rows = vec![
                ("key_id".to_owned(), rotated.key_id.clone()),
                (
                    "previous_key_expires_at".to_owned(),
                    rotated
                        .previous_key_expires_at
                        .map_or_else(|| "now".to_owned(), crate::output::time),
                ),
            ];
            View::new(
                json,
                vec![
                    Block::Fields(rows),
                    Block::Secret {
                        label: format!("new API key of {id} (key id {})", rotated.key_id),
                        value: rotated.api_key.expose().to_owned(),
                    },
                ],
            )
        }
        TenantsCmd::Suspend { id, yes } => {
            let id = ctx.require(id, "tenant id", ID_HOW)?;
            ctx.confirm(
                yes,
                &format!("Suspend tenant {id}? Every credential of it gets 403 until resumed."),
            )?;
            tenant_view(&ctx.client()?.tenants().suspend(&id).await?)
        }
        TenantsCmd::Resume { id } => {
            let id = ctx.require(id, "tenant id", ID_HOW)?;
            tenant_view(&ctx.client()?.tenants().resume(&id).await?)
        }
    }
}

/// A tenant (or a created tenant, with its key) as JSON, its fields flattened in a table.
/// The secret of a created tenant is not among the table rows: it gets its own block.
pub fn tenant_view(tenant: &impl serde::Serialize) -> CliResult<View> {
    let mut view = View::new(tenant, Vec::new())?;
    let rows = flatten(&view.json)
        .into_iter()
        .filter(|(k, _)| k != "api_key")
        .collect();
    view.blocks
        .push(Block::Fields(order_rows(rows, TENANT_FIRST_ROWS)));
    Ok(view)
}
