//! A first session with the Chalk SDK, against a server that is already running.
//!
//! ```sh
//! cargo run -p chalk-server &                      # or any Chalk deployment
//! export CHALK_API_URL=http://127.0.0.1:8080
//! export CHALK_MASTER_KEY=$(cat chalk-data/master.key)
//! cargo run --example quickstart
//! ```
//!
//! It creates a tenant (named by the first argument, default "Quickstart"), changes its
//! config with a typed merge patch, exchanges its API key for tokens, refreshes them, and
//! lets a token-mode client do the same by itself, printing each step. It starts nothing
//! and prints no secret in full.

use std::process::ExitCode;

use chalk_sdk::model::{ConfigPatch, CreateTenantRequest, Patch};
use chalk_sdk::{Client, SecretString};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quickstart failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The first characters of a secret: enough to recognise it, useless to a reader of logs.
fn shown(secret: &SecretString) -> String {
    let prefix: String = secret.expose().chars().take(12).collect();
    format!("{prefix}…")
}

async fn run() -> chalk_sdk::Result<()> {
    // CHALK_API_URL plus CHALK_MASTER_KEY (the operator creates tenants).
    let operator = Client::from_env()?;
    println!("1. connected to {}", operator.base_url());

    let name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Quickstart".into());
    let request = CreateTenantRequest {
        max_concurrent_rooms: Some(20),
        ..CreateTenantRequest::new(name)
    };
    let created = operator.tenants().create(&request).await?;
    let tenant_id = created.tenant.id.clone();
    println!(
        "2. created tenant {tenant_id} ({:?}); its API key {} is shown only once",
        created.tenant.name,
        shown(&created.api_key)
    );

    // From here on, act as the tenant with its own key.
    let tenant = Client::builder()
        .base_url(operator.base_url())
        .api_key(created.api_key.clone())
        .build()?;
    let patch = ConfigPatch {
        force_recording: Patch::Set(true),
        transcription_language: Patch::Set("es-ES".into()),
        allowed_origins: Patch::Set(vec!["https://app.example.com".into()]),
        // Back to the default, whatever it was.
        recording_retention_days: Patch::Reset,
        ..Default::default()
    };
    let config = tenant
        .tenants()
        .config(&tenant_id)
        .update(&patch)
        .await?
        .config;
    println!(
        "3. patched config: force_recording={} language={} origins={:?} retention={} days",
        config.force_recording,
        config.transcription_language,
        config.allowed_origins,
        config.recording_retention_days
    );

    let pair = tenant.auth().token(created.api_key.clone()).await?;
    println!(
        "4. exchanged the API key for a {} token valid {} s",
        pair.token_type, pair.expires_in
    );

    let bearer = Client::builder()
        .base_url(operator.base_url())
        .tokens(pair.access_token.clone(), pair.refresh_token.clone())
        .build()?;
    let me = bearer.tenants().current().await?;
    println!("5. the access token reads tenant {}", me.id);

    let renewed = tenant.auth().refresh(pair.refresh_token).await?;
    println!(
        "6. refreshed: a new pair valid {} s (the old refresh token is now spent)",
        renewed.expires_in
    );
    tenant.auth().revoke(renewed.refresh_token).await?;
    println!("7. revoked the new refresh token and its chain");

    // Token mode: the client exchanges and refreshes by itself.
    let auto = Client::builder()
        .base_url(operator.base_url())
        .api_key(created.api_key)
        .token_mode(true)
        .build()?;
    let me = auto.tenants().current().await?;
    println!(
        "8. a token-mode client reads {} with tokens it manages itself",
        me.id
    );
    println!("done: tenant {tenant_id}");
    Ok(())
}
