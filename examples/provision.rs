//! Provisioning as code from Rust: make the server match TOML files that declare tenants
//! (the format of `chalk plan`/`chalk apply`, see docs/cli.md), on `chalk_sdk::provision`.
//!
//! ```sh
//! export CHALK_API_URL=https://chalk.example.com CHALK_MASTER_KEY=...
//! CHALK_PROVISION_SECRETS=secrets.json cargo run -q --example provision -- chalk.toml [more.toml | dir/]
//! ```
//!
//! Prints `EXTERNAL_ID<TAB>TENANT_ID` per declared tenant on stdout; the changes go to
//! stderr. Safe to run twice, or a hundred times, or after being killed half-way: tenants
//! are found by `external_id`, keys by name, endpoints by URL, and creates carry
//! idempotency keys derived from the file. New secrets are never printed: they go to
//! `CHALK_PROVISION_SECRETS` (mode 0600; `.env` for dotenv, else JSON), required when a run
//! creates any. `chalk apply` does the same with prompts, `--prune` and saved plans.

use std::path::PathBuf;
use std::process::ExitCode;

use chalk_sdk::Client;
use chalk_sdk::provision::{self, NewSecret, ProvisionError, SecretSink, SecretsFile};

#[tokio::main]
async fn main() -> ExitCode {
    let files: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if files.is_empty() {
        eprintln!("usage: provision FILE.toml|DIR [...]");
        return ExitCode::from(2);
    }
    match run(&files).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("provision: {e}");
            ExitCode::from(match e {
                ProvisionError::File(_) | ProvisionError::Secret(..) => 2,
                _ => 1,
            })
        }
    }
}

async fn run(files: &[PathBuf]) -> Result<(), ProvisionError> {
    let desired = provision::load(files)?;
    let client = Client::from_env().map_err(|e| ProvisionError::Output(e.to_string()))?;
    let plan = provision::plan(&client, &desired, false).await?;
    for tenant in &plan.tenants {
        for change in &tenant.changes {
            eprintln!(
                "{}: {:?} {} {}",
                tenant.external_id, change.action, change.object, change.field
            );
        }
    }
    if plan.has_changes() {
        let mut secrets = match std::env::var_os("CHALK_PROVISION_SECRETS") {
            Some(path) => Sink::File(SecretsFile::new(path.into())),
            // Refused before anything is made, rather than lose a secret half-way.
            None if plan.creates_secrets() => {
                return Err(ProvisionError::Output(
                    "this run creates secrets: set CHALK_PROVISION_SECRETS to a file to keep them"
                        .into(),
                ));
            }
            None => Sink::None,
        };
        provision::apply(&client, &plan, &mut secrets).await?;
    }
    // Planned again: the ids of tenants just created, and proof that nothing is left to do.
    let after = provision::plan(&client, &desired, false).await?;
    for tenant in &after.tenants {
        let id = tenant.tenant_id.as_deref().unwrap_or("-");
        println!("{}\t{id}", tenant.external_id);
    }
    Ok(())
}

enum Sink {
    File(SecretsFile),
    /// No file given, and the plan creates no secret.
    None,
}

impl SecretSink for Sink {
    /// A dotenv file refuses a plan two of whose secrets would share a variable.
    fn check(&self, plan: &provision::Plan) -> Result<(), ProvisionError> {
        match self {
            Sink::File(file) => file.check(plan),
            Sink::None => Ok(()),
        }
    }

    fn keep(&mut self, secret: NewSecret) -> Result<(), String> {
        match self {
            Sink::File(file) => file.keep(secret),
            Sink::None => Err("a secret was created but CHALK_PROVISION_SECRETS is not set".into()),
        }
    }
}
