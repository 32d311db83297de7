//! `chalk signing-keys list|rotate`: the server's token signing keys (operator).

use chalk_sdk::model::SigningKey;
use clap::Subcommand;

use crate::context::Context;
use crate::error::CliResult;
use crate::output::{Block, View, flatten};

#[derive(Debug, Subcommand)]
pub enum SigningKeysCmd {
    /// List the token signing keys: the current one and those still verifying (master key)
    #[command(after_help = "Examples:
  chalk signing-keys list
  chalk signing-keys list -o json | jq -r '.[] | select(.status == \"current\") | .kid'")]
    List,
    /// Make a new current signing key; tokens signed by the old one keep working until
    /// they expire (master key; asks first, `--yes` without a terminal)
    #[command(after_help = "Example:\n  chalk signing-keys rotate --yes")]
    Rotate {
        #[arg(short, long)]
        yes: bool,
    },
}

pub async fn run(ctx: &Context, cmd: SigningKeysCmd) -> CliResult<View> {
    match cmd {
        SigningKeysCmd::List => {
            let keys = ctx.client()?.signing_keys().list().await?;
            let rows = keys
                .iter()
                .map(|k| {
                    vec![
                        k.kid.clone(),
                        k.status.as_str().to_owned(),
                        k.algorithm.clone(),
                        crate::output::time(k.created_at),
                        k.retires_at
                            .map_or_else(|| "-".to_owned(), crate::output::time),
                    ]
                })
                .collect();
            let mut blocks = vec![Block::Grid(
                vec!["KID", "STATUS", "ALGORITHM", "CREATED", "RETIRES"],
                rows,
            )];
            if keys.is_empty() {
                blocks = vec![Block::Line(
                    "No signing keys: the server signs tokens with HS256 (CHALK_JWT_SECRET)."
                        .into(),
                )];
            }
            View::new(&keys, blocks)
        }
        SigningKeysCmd::Rotate { yes } => {
            ctx.confirm(
                yes,
                "Make a new token signing key current? Tokens signed by the current key keep \
                 working until they expire; services caching the JWKS fetch it again when they \
                 meet the new kid.",
            )?;
            let key: SigningKey = ctx.client()?.signing_keys().rotate().await?;
            let mut view = View::new(&key, Vec::new())?;
            view.blocks.push(Block::Fields(flatten(&view.json)));
            Ok(view)
        }
    }
}
