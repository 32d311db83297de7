//! From settings to a running server: logging, secrets, store, listener, signals.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

use crate::app::settings::{LogFormat, Secrets, Settings};
use crate::crypto::Sealer;
use crate::domain::policy::Policy;
use crate::domain::signing::TokenSigner;
use crate::http::rate_limit::RateLimit;
use crate::http::state::{AppState, Limits};
use crate::store::Store;

/// Installs the global tracing subscriber (text or JSON, filtered by `CHALK_LOG`).
pub fn init_logging(settings: &Settings) -> Result<(), String> {
    let filter = EnvFilter::try_new(&settings.log)
        .map_err(|e| format!("CHALK_LOG {:?} is not a valid filter: {e}", settings.log))?;
    // Colour codes only where a person reads them: a terminal, never a file, a pipe or JSON.
    let ansi = settings.log_format == LogFormat::Text && std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match settings.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
    Ok(())
}

/// Opens the store named by the database URL.
pub async fn open_store(url: &str) -> Result<Arc<Store>, String> {
    Ok(Arc::new(Store::connect(url).await?))
}

/// Builds the application state from settings: secrets resolved (and generated on
/// first start), store opened and migrated.
pub async fn build_state(settings: &Settings) -> Result<(AppState, Secrets), String> {
    create_private_dir(&settings.data_dir).map_err(|e| {
        format!(
            "cannot create data directory {}: {e}",
            settings.data_dir.display()
        )
    })?;
    let secrets = Secrets::resolve(settings)?;
    if settings.database_url.is_none() {
        // SQLite creates its -wal and -shm files with the database file's mode, so a
        // database created 0600 here keeps all three private.
        create_private_file(&settings.data_dir.join("chalk.db")).map_err(|e| {
            format!(
                "cannot create the database in {}: {e}",
                settings.data_dir.display()
            )
        })?;
    }
    let sealer = Sealer::from_base64(secrets.encryption_key.expose())
        .map_err(|e| format!("CHALK_ENCRYPTION_KEY: {e}"))?;
    let store = open_store(&settings.database_url()).await?;
    let policy = Policy {
        open_registration: settings.open_registration,
        default_rate_limit: settings.default_rate_limit,
        access_token_ttl: settings.access_token_ttl,
        refresh_token_ttl: settings.refresh_token_ttl,
        participant_rate_limit: settings.participant_rate_limit,
        registration_rate_limit: settings.registration_rate_limit,
        audit_retention_days: settings.audit_retention_days,
        auth_failure_limit: settings.auth_failure_limit,
        trusted_proxies: settings.trusted_proxies.clone().unwrap_or_default(),
        webhook_targets: crate::net::webhook_target::TargetPolicy {
            allow_private: settings.webhook_allow_private,
        },
        webhook_delivery: crate::domain::webhook_schedule::DeliveryConfig {
            schedule: settings
                .webhook_retry_schedule
                .clone()
                .unwrap_or_else(|| crate::domain::webhook_schedule::DEFAULT_SCHEDULE.to_vec()),
            timeout: settings.webhook_timeout,
            poll_interval: settings.webhook_poll_interval,
        },
    };
    bound_unknown_expiry(&store, &policy).await?;
    let rate_limit = RateLimit::from_redis_url(settings.redis_url.as_deref())?;
    let signer = match (settings.jwt_algorithm, &secrets.jwt_secret) {
        (crate::domain::signing::JwtAlgorithm::Hs256, Some(secret)) => {
            TokenSigner::new(secret.expose().as_bytes())
        }
        (crate::domain::signing::JwtAlgorithm::Hs256, None) => {
            return Err("CHALK_JWT_ALGORITHM=HS256 needs CHALK_JWT_SECRET".into());
        }
        (crate::domain::signing::JwtAlgorithm::EdDsa, _) => {
            TokenSigner::ed_dsa(store.clone(), sealer.clone())
                .await
                .map_err(|e| format!("token signing keys: {e}"))?
        }
    };
    let state = AppState::with_rate_limit(
        store,
        secrets.master_key.clone(),
        signer,
        sealer,
        policy,
        rate_limit,
    )
    .with_limits(Limits {
        header_read_timeout: settings.header_read_timeout,
        body_read_timeout: settings.body_read_timeout,
        idle_timeout: settings.idle_timeout,
        max_connections: settings.max_connections as usize,
        shutdown_grace: settings.shutdown_grace,
    });
    Ok((state, secrets))
}

/// Present participants from before migration 0011 carry no token expiry: SQL could not
/// know when their last refresh token was minted. None minted before this start outlives
/// now plus the refresh-token lifetime (unless the lifetime was just lengthened), so that
/// bound ends them at the latest then, and never while one of their tokens is valid. It
/// runs at every start: once every row has a value it is a write transaction whose one
/// `UPDATE` finds no row through the index of present participants, and commits nothing.
async fn bound_unknown_expiry(store: &Store, policy: &Policy) -> Result<(), String> {
    let until = crate::clock::now() + policy.refresh_token_ttl;
    let bound = async {
        let mut db = store.begin().await?;
        let n = crate::store::participants::bound_unknown_expiry(&mut db, until).await?;
        db.commit().await?;
        Ok::<_, crate::store::StoreError>(n)
    };
    let n = bound
        .await
        .map_err(|e| format!("cannot bound participants' token expiry: {e}"))?;
    if n > 0 {
        tracing::info!(
            participants = n,
            until,
            "participants from before token expiry was recorded end by expiry at the latest at `until`"
        );
    }
    Ok(())
}

/// The data directory, readable by its owner only (docs/api.md Hardening rules). An existing
/// directory is left as the operator made it.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// An empty file of mode 0600 unless one exists.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// `:0` style addresses get the loopback host, as `CHALK_LISTEN` documents.
fn listen_address(listen: &str) -> String {
    if listen.starts_with(':') {
        format!("127.0.0.1{listen}")
    } else {
        listen.to_owned()
    }
}

/// How long a stop waits for the store to close (SQLite: checkpointing its log).
const STORE_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs the server until SIGTERM or SIGINT.
pub async fn run(settings: Settings) -> Result<(), String> {
    // Everything this process creates is its owner's only: secrets, the database and the
    // -wal/-shm files SQLite makes by itself, whatever the umask it was started with.
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o077));
    crate::metrics::calibrate_clock_early();
    init_logging(&settings)?;
    let planned_backups = crate::app::backup::plan_schedule(&settings)?;
    // Bound first: a port in use fails the start before anything is created, and clients
    // that connect early wait in the backlog. Nothing is answered before the store is open
    // and migrated, so `/readyz` never says ready too soon.
    let address = listen_address(&settings.listen);
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    // The routes need no state: built while the store opens.
    let routes = tokio::task::spawn_blocking(crate::http::Routes::build);
    let (state, secrets) = build_state(&settings).await?;
    let backups = planned_backups
        .map(|plan| plan.with_key(&settings, &secrets.encryption_key))
        .transpose()?;
    if secrets.generated_master_key {
        // Printed once, on the start that generated it; never logged.
        eprintln!(
            "\nGenerated a master key (stored in {}, mode 0600). It is shown only now:\n\n    {}\n",
            settings.data_dir.join("master.key").display(),
            secrets.master_key.expose()
        );
    }
    let routes = routes
        .await
        .map_err(|e| format!("building the routes: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(address = %local, database = %redacted_url(&settings.database_url()), "chalk-server listening");
    if let Some(schedule) = &backups {
        tracing::info!(
            dir = %schedule.dir.display(),
            interval_s = schedule.interval.as_secs(),
            keep = schedule.keep,
            key_fingerprint = %schedule.key.fingerprint(),
            "scheduled backups on"
        );
    }
    let store = state.core.store.clone();
    crate::app::serve::serve_with_backups(listener, state, routes, backups, shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    // Once every worker has written its last: SQLite's log is checkpointed and removed.
    // Bounded, as the stop must be: what it cannot finish in time the next start recovers.
    if tokio::time::timeout(STORE_CLOSE_WAIT, store.close())
        .await
        .is_err()
    {
        tracing::warn!("closing the store took too long: stopping without it");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The database URL without any password, for the log.
pub(crate) fn redacted_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_urls() {
        assert_eq!(listen_address(":0"), "127.0.0.1:0");
        assert_eq!(listen_address("0.0.0.0:80"), "0.0.0.0:80");
        assert_eq!(
            redacted_url("postgres://u:secret@db:5432/x"),
            "postgres://***@db:5432/x"
        );
        assert_eq!(redacted_url("sqlite://./a.db"), "sqlite://./a.db");
    }
}
