//! Provisioning as code: files that declare tenants, and the plan, apply and export on them
//! (what `chalk plan`, `chalk apply` and `chalk export` run).
//!
//! ```no_run
//! use chalk_sdk::provision::{self, SecretsFile};
//! # async fn run(client: chalk_sdk::Client) -> Result<(), chalk_sdk::provision::ProvisionError> {
//! let desired = provision::load(&["chalk.toml".into()])?;
//! let plan = provision::plan(&client, &desired, false).await?;
//! if plan.has_changes() {
//!     let mut secrets = SecretsFile::new("secrets.json".into());
//!     provision::apply(&client, &plan, &mut secrets).await?;
//! }
//! # Ok(()) }
//! ```

mod apply;
mod export;
pub mod file;
mod plan;
mod secrets_out;

pub use apply::{NewSecret, SecretKind, SecretSink, apply};
pub use export::{env_name, export, to_toml};
pub use file::{Desired, Document, FileError, TenantSpec, load};
pub use plan::{Action, Change, Plan, TenantPlan, plan};
pub use secrets_out::SecretsFile;

use crate::Error;

/// Why provisioning stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// The files: unreadable, not TOML, an unknown key (file, line and column given).
    #[error(transparent)]
    File(#[from] FileError),
    /// A secret reference that could not be read (the secret itself is never in it).
    #[error("tenant `{0}`: {1}")]
    Secret(String, String),
    /// What the server said, with what was being done.
    #[error("{context}: {source}")]
    Api {
        context: String,
        #[source]
        source: Box<Error>,
    },
    /// The server changed since the plan: nothing of that tenant was written.
    #[error("{0}")]
    Stale(String),
    /// A tenant named on the command line does not exist.
    #[error("{0}")]
    NotFound(String),
    /// New secrets could not be kept, or output could not be written.
    #[error("{0}")]
    Output(String),
    /// Two secrets the plan can produce would be kept under one name (one dotenv
    /// variable), losing one: refused before any change.
    #[error("{0}")]
    SecretCollision(String),
}

impl ProvisionError {
    pub(crate) fn api(context: String, source: Error) -> Self {
        ProvisionError::Api {
            context,
            source: Box::new(source),
        }
    }

    /// Says how many changes were already made when it stopped.
    pub(crate) fn after(self, done: usize) -> Self {
        if done == 0 {
            return self;
        }
        match self {
            ProvisionError::Api { context, source } => ProvisionError::Api {
                context: format!("after {done} change(s) made, {context}"),
                source,
            },
            other => other,
        }
    }
}

/// Checks that a plan saved earlier (its JSON) is still what `apply` would do now: same
/// tenants, same `ETag`s, same changes. A difference means someone changed a tenant (or
/// the files changed) since: [`ProvisionError::Stale`], and nothing is written.
pub fn verify(saved: &Plan, fresh: &Plan) -> Result<(), ProvisionError> {
    if saved.prune != fresh.prune {
        return Err(ProvisionError::Stale(format!(
            "the saved plan was made {} --prune; plan again with the same options",
            if saved.prune { "with" } else { "without" }
        )));
    }
    let ids = |plan: &Plan| {
        plan.tenants
            .iter()
            .map(|t| t.external_id.clone())
            .collect::<Vec<_>>()
    };
    if ids(saved) != ids(fresh) {
        return Err(ProvisionError::Stale(
            "the files declare other tenants than the saved plan; plan again".into(),
        ));
    }
    for (old, new) in saved.tenants.iter().zip(&fresh.tenants) {
        let id = &old.external_id;
        if old.tenant_id != new.tenant_id {
            return Err(ProvisionError::Stale(format!(
                "tenant `{id}` was created or deleted since the plan; plan again"
            )));
        }
        if old.etag != new.etag {
            return Err(ProvisionError::Stale(format!(
                "tenant `{id}` was changed since the plan (ETag {} is now {}); nothing was overwritten: plan again",
                old.etag.as_deref().unwrap_or("-"),
                new.etag.as_deref().unwrap_or("-")
            )));
        }
        if old.changes != new.changes || old.needs_prune != new.needs_prune {
            return Err(ProvisionError::Stale(format!(
                "tenant `{id}`: the changes differ from the saved plan (its API keys or the files changed); plan again"
            )));
        }
    }
    Ok(())
}
