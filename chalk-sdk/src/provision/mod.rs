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

// Bottom up: `file` (the declarations) and `plan` (the plan as data); the `diff_*`
// modules, one per kind of object compared, and `planner`, which makes a plan with them;
// `apply`, which carries a plan out, taking it from `plan` alone; `export` (the server's
// tenants as files) and `secrets_out` (where `apply` keeps the secrets it makes). Each
// imports only modules before it in this list, and `ProvisionError` from here.
mod apply;
mod diff_config;
mod diff_endpoints;
mod diff_keys;
mod export;
pub mod file;
mod plan;
mod planner;
mod secrets_out;

pub use apply::{NewSecret, SecretSink, apply};
pub use export::{env_name, export, to_toml};
pub use file::{Desired, Document, FileError, TenantSpec, load};
pub use plan::{Action, Change, Plan, SecretKind, TenantPlan, verify};
pub use planner::plan;
pub use secrets_out::SecretsFile;

use crate::error::Error;

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
