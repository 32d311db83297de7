//! `chalk keys create|list|revoke`: a tenant's scoped API keys.

use chalk_sdk::model::{ApiKey, CreateApiKeyRequest, ListQuery, Scope};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use futures_util::TryStreamExt;

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::output::{Block, View, flatten};

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Create a scoped API key; the key is printed this once
    #[command(
        after_help = "Scopes: tenant:read, tenant:admin, rooms:read, rooms:write.

Examples:
  chalk keys create tenant_abc123 --name backend --scope rooms:write
  chalk keys create tenant_abc123 --name reader --scope tenant:read,rooms:read --expires-at 2027-01-01T00:00:00Z"
    )]
    Create {
        tenant: Option<String>,
        /// A name to recognise the key by (1..=100 characters)
        #[arg(long)]
        name: Option<String>,
        /// Scopes, repeated or comma-separated
        #[arg(long = "scope", value_delimiter = ',', required = true)]
        scopes: Vec<Scope>,
        /// When the key stops working (RFC 3339, in the future)
        #[arg(long, value_name = "TIME")]
        expires_at: Option<DateTime<Utc>>,
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
    },
    /// List a tenant's keys (never their secrets)
    #[command(after_help = "Examples:
  chalk keys list tenant_abc123
  chalk keys list tenant_abc123 -o json | jq -r '.[] | select(.primary | not) | .id'")]
    List { tenant: Option<String> },
    /// Revoke a key; its tokens stop working (asks first; `--yes` without a terminal)
    #[command(after_help = "Example:\n  chalk keys revoke tenant_abc123 key_xyz --yes")]
    Revoke {
        tenant: Option<String>,
        key_id: Option<String>,
        #[arg(short, long)]
        yes: bool,
    },
}

const TENANT_HOW: &str = "pass the tenant id as the first argument";

pub async fn run(ctx: &Context, cmd: KeysCmd) -> CliResult<View> {
    match cmd {
        KeysCmd::Create {
            tenant,
            name,
            scopes,
            expires_at,
            idempotency_key,
        } => {
            let tenant = ctx.require(tenant, "tenant id", TENANT_HOW)?;
            let name = ctx.require(name, "key name", "pass --name NAME")?;
            if scopes.is_empty() {
                return Err(CliError::usage("pass at least one --scope"));
            }
            let request = CreateApiKeyRequest {
                name,
                scopes,
                expires_at,
            };
            let client = ctx.client()?;
            let keys = client.tenants().api_keys(&tenant);
            let created = match idempotency_key {
                Some(key) => keys.create_with_idempotency_key(&request, key).await?,
                None => keys.create(&request).await?,
            };
            let mut view = View::new(&created, Vec::new())?;
            let rows = flatten(&view.json)
                .into_iter()
                .filter(|(k, _)| k != "api_key")
                .collect();
            view.blocks.push(Block::Fields(rows));
            view.blocks.push(Block::Secret {
                label: format!("API key {} of {tenant}", created.key_id),
                value: created.api_key.expose().to_owned(),
            });
            Ok(view)
        }
        KeysCmd::List { tenant } => {
            let tenant = ctx.require(tenant, "tenant id", TENANT_HOW)?;
            let client = ctx.client()?;
            let keys: Vec<ApiKey> = client
                .tenants()
                .api_keys(&tenant)
                .list_all(ListQuery::default())
                .try_collect()
                .await?;
            let time =
                |t: Option<DateTime<Utc>>| t.map_or_else(|| "-".to_owned(), crate::output::time);
            let rows = keys
                .iter()
                .map(|k| {
                    vec![
                        k.id.clone(),
                        k.name.clone(),
                        k.prefix.clone(),
                        k.scopes
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        if k.primary { "yes".into() } else { "no".into() },
                        time(k.last_used_at),
                        time(k.expires_at),
                    ]
                })
                .collect();
            View::new(
                &keys,
                vec![Block::Grid(
                    vec![
                        "id",
                        "name",
                        "prefix",
                        "scopes",
                        "primary",
                        "last used",
                        "expires",
                    ],
                    rows,
                )],
            )
        }
        KeysCmd::Revoke {
            tenant,
            key_id,
            yes,
        } => {
            let tenant = ctx.require(tenant, "tenant id", TENANT_HOW)?;
            let key_id = ctx.require(
                key_id,
                "key id",
                "pass the key id (key_...) after the tenant id",
            )?;
            ctx.confirm(
                yes,
                &format!("Revoke key {key_id} of {tenant}? Its tokens stop working at once."),
            )?;
            let revoked = ctx
                .client()?
                .tenants()
                .api_keys(&tenant)
                .revoke(&key_id)
                .await?;
            View::fields(&revoked)
        }
    }
}
