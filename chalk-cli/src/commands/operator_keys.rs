//! `chalk operator-keys create|list|revoke`: named credentials with the master key's powers.

use chalk_sdk::model::{CreateOperatorKeyRequest, ListQuery, OperatorKey};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use futures_util::TryStreamExt;

use crate::context::Context;
use crate::error::CliResult;
use crate::output::{Block, View, flatten};

#[derive(Debug, Subcommand)]
pub enum OperatorKeysCmd {
    /// Create an operator key (ok_live_…); the key is printed this once (master or operator key)
    #[command(
        after_help = "The key is used like the master key: CHALK_MASTER_KEY, --master-key, or
`chalk login --master`. It can expire and is revoked on its own.

Examples:
  chalk operator-keys create --name alice
  chalk operator-keys create --name deploy-bot --expires-at 2027-01-01T00:00:00Z -o json | jq -r .key"
    )]
    Create {
        /// Who holds it (1..=100 characters)
        #[arg(long)]
        name: Option<String>,
        /// When the key stops working (RFC 3339, in the future)
        #[arg(long, value_name = "TIME")]
        expires_at: Option<DateTime<Utc>>,
    },
    /// List operator keys that still work (never their secrets)
    #[command(after_help = "Examples:
  chalk operator-keys list
  chalk operator-keys list -o json | jq -r '.[] | select(.last_used_at == null) | .id'")]
    List,
    /// Revoke an operator key: refused at once on every instance (asks first; `--yes` without
    /// a terminal). The key in use cannot revoke itself.
    #[command(after_help = "Example:\n  chalk operator-keys revoke op_abc123 --yes")]
    Revoke {
        id: Option<String>,
        #[arg(short, long)]
        yes: bool,
    },
}

pub async fn run(ctx: &Context, cmd: OperatorKeysCmd) -> CliResult<View> {
    match cmd {
        OperatorKeysCmd::Create { name, expires_at } => {
            let name = ctx.require(name, "key name", "pass --name NAME")?;
            let request = CreateOperatorKeyRequest { name, expires_at };
            let created = ctx.client()?.operator_keys().create(&request).await?;
            let mut view = View::new(&created, Vec::new())?;
            let rows = flatten(&view.json)
                .into_iter()
                .filter(|(k, _)| k != "key")
                .collect();
            view.blocks.push(Block::Fields(rows));
            view.blocks.push(Block::Secret {
                label: format!("Operator key {}", created.id),
                value: created.key.expose().to_owned(),
            });
            Ok(view)
        }
        OperatorKeysCmd::List => {
            let keys: Vec<OperatorKey> = ctx
                .client()?
                .operator_keys()
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
                        k.created_by.clone(),
                        crate::output::time(k.created_at),
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
                        "created by",
                        "created",
                        "last used",
                        "expires",
                    ],
                    rows,
                )],
            )
        }
        OperatorKeysCmd::Revoke { id, yes } => {
            let id = ctx.require(id, "operator key id", "pass the key id (op_...)")?;
            ctx.confirm(
                yes,
                &format!("Revoke operator key {id}? It is refused from the next request on."),
            )?;
            let revoked = ctx.client()?.operator_keys().revoke(&id).await?;
            View::fields(&revoked)
        }
    }
}
