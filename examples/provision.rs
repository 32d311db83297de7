//! Idempotent CI provisioning: make sure a tenant with this exact name exists with this
//! config, and print its id on stdout (progress goes to stderr).
//!
//! ```sh
//! export CHALK_API_URL=https://chalk.example.com CHALK_MASTER_KEY=...
//! TENANT_ID=$(cargo run -q --example provision -- "Acme University" [config-patch.json])
//! ```
//!
//! Safe to run twice, or a hundred times: it looks the tenant up by name first (so it
//! never depends on the server keeping names unique), creates it only when missing — with
//! an `Idempotency-Key` derived from the name, so two jobs racing, or a job retried after
//! a lost response, still create one tenant — and then applies the config patch, which
//! changes nothing when the config already matches.
//!
//! The config is the typed patch below, or a JSON merge patch file given as the second
//! argument (unknown fields are refused, by the SDK and by the server).
//!
//! The new tenant's primary API key is shown by the server only once. It is never
//! printed; set `CHALK_PROVISION_KEY_FILE` to have it written to that file (mode 0600 on
//! Unix) when the tenant is created. A run that finds the tenant leaves the file alone.

use std::process::ExitCode;

use chalk_sdk::Client;
use chalk_sdk::model::{
    ConfigPatch, CreateTenantRequest, ErrorCode, ListTenantsQuery, Patch, Tenant,
};
use futures_util::TryStreamExt;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(name) = args.next().filter(|n| !n.trim().is_empty()) else {
        eprintln!("usage: provision TENANT_NAME [CONFIG_PATCH.json]");
        return ExitCode::from(2);
    };
    let patch = match args.next() {
        Some(path) => match read_patch(&path) {
            Ok(patch) => patch,
            Err(e) => {
                eprintln!("provision: {path}: {e}");
                return ExitCode::from(2);
            }
        },
        None => desired_config(),
    };
    match provision(&name, &patch).await {
        Ok(tenant) => {
            println!("{}", tenant.id);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("provision failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The config every provisioned tenant gets unless a patch file says otherwise.
fn desired_config() -> ConfigPatch {
    ConfigPatch {
        force_recording: Patch::Set(true),
        recording_retention_days: Patch::Set(90),
        transcription_language: Patch::Set("en-US".into()),
        allowed_origins: Patch::Set(vec!["https://app.example.com".into()]),
        ..Default::default()
    }
}

fn read_patch(path: &str) -> Result<ConfigPatch, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

async fn provision(name: &str, patch: &ConfigPatch) -> Result<Tenant, Box<dyn std::error::Error>> {
    // CHALK_API_URL and CHALK_MASTER_KEY: listing every tenant needs the operator.
    let client = Client::from_env()?;
    let tenants = client.tenants();

    let tenant = match find_by_name(&client, name).await? {
        Some(tenant) => {
            eprintln!("tenant {name:?} exists: {}", tenant.id);
            tenant
        }
        None => {
            let request = CreateTenantRequest::new(name);
            let created = tenants
                .create_with_idempotency_key(&request, idempotency_key(name))
                .await?;
            eprintln!("created tenant {name:?}: {}", created.tenant.id);
            save_key(&created.api_key)?;
            created.tenant
        }
    };

    let config = tenants.config(&tenant.id);
    match config.update(patch).await {
        Ok(_) => {}
        // The create above was a replay (same key within 24 h) of a tenant deleted since:
        // create a new one, with a fresh key this time.
        Err(e) if e.code() == Some(&ErrorCode::NotFound) => {
            eprintln!(
                "tenant {} was deleted meanwhile; creating it again",
                tenant.id
            );
            let created = tenants.create(&CreateTenantRequest::new(name)).await?;
            save_key(&created.api_key)?;
            tenants.config(&created.tenant.id).update(patch).await?;
            return Ok(created.tenant);
        }
        Err(e) => return Err(e.into()),
    }
    eprintln!("config of {} applied", tenant.id);
    Ok(tenant)
}

/// Writes a new tenant's primary key to `CHALK_PROVISION_KEY_FILE`, if set, readable by
/// the owner only.
fn save_key(key: &chalk_sdk::SecretString) -> std::io::Result<()> {
    let Some(path) = std::env::var_os("CHALK_PROVISION_KEY_FILE").filter(|p| !p.is_empty()) else {
        eprintln!("its primary API key was not kept: set CHALK_PROVISION_KEY_FILE to keep it");
        return Ok(());
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.to_string_lossy())))?;
    std::io::Write::write_all(&mut file, key.expose().as_bytes())?;
    eprintln!("its primary API key is in {}", path.to_string_lossy());
    Ok(())
}

/// The tenant named exactly `name`, walking every page of the list (oldest first). When
/// several share the name (created by hand, say), the oldest is the one provisioned.
async fn find_by_name(client: &Client, name: &str) -> chalk_sdk::Result<Option<Tenant>> {
    let query = ListTenantsQuery {
        limit: Some(200),
        ..Default::default()
    };
    let matches: Vec<Tenant> = client
        .tenants()
        .list_all(query)
        .try_filter(|t| std::future::ready(t.name == name))
        .try_collect()
        .await?;
    match matches.len() {
        0 | 1 => Ok(matches.into_iter().next()),
        _ => {
            let ids: Vec<&str> = matches.iter().map(|t| t.id.as_str()).collect();
            eprintln!("several tenants are named {name:?}: {ids:?}; using the oldest");
            Ok(matches.into_iter().next())
        }
    }
}

/// A stable idempotency key for a tenant name (FNV-1a, 64 bit): the same name gives the
/// same key in every process, on every machine.
fn idempotency_key(name: &str) -> String {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("provision-tenant-{hash:016x}")
}
