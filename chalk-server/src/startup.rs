//! From settings to a running server: logging, secrets, store, listener, signals.

use std::sync::Arc;
use tracing_subscriber::EnvFilter;

use crate::crypto::Sealer;
use crate::rate_limit::RateLimit;
use crate::settings::{LogFormat, Secrets, Settings};
use crate::state::{AppState, Policy};
use crate::store::Store;

/// `postgres://` or `postgresql://`: a database several instances share.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Installs the global tracing subscriber (text or JSON, filtered by `CHALK_LOG`).
pub fn init_logging(settings: &Settings) -> Result<(), String> {
    let filter = EnvFilter::try_new(&settings.log)
        .map_err(|e| format!("CHALK_LOG {:?} is not a valid filter: {e}", settings.log))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
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
    std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
        format!(
            "cannot create data directory {}: {e}",
            settings.data_dir.display()
        )
    })?;
    let secrets = Secrets::resolve(settings)?;
    let sealer = Sealer::from_base64(secrets.encryption_key.expose())
        .map_err(|e| format!("CHALK_ENCRYPTION_KEY: {e}"))?;
    let store = open_store(&settings.database_url()).await?;
    let policy = Policy {
        open_registration: settings.open_registration,
        default_rate_limit: settings.default_rate_limit,
        access_token_ttl: settings.access_token_ttl,
        refresh_token_ttl: settings.refresh_token_ttl,
    };
    let rate_limit = RateLimit::from_redis_url(settings.redis_url.as_deref())?;
    let state = AppState::with_rate_limit(
        store,
        secrets.master_key.clone(),
        &secrets.jwt_secret,
        sealer,
        policy,
        rate_limit,
    );
    Ok((state, secrets))
}

/// `:0` style addresses get the loopback host, as `CHALK_LISTEN` documents.
fn listen_address(listen: &str) -> String {
    if listen.starts_with(':') {
        format!("127.0.0.1{listen}")
    } else {
        listen.to_owned()
    }
}

/// Runs the server until SIGTERM or SIGINT.
pub async fn run(settings: Settings) -> Result<(), String> {
    init_logging(&settings)?;
    let (state, secrets) = build_state(&settings).await?;
    if secrets.generated_master_key {
        // Printed once, on the start that generated it; never logged.
        eprintln!(
            "\nGenerated a master key (stored in {}, mode 0600). It is shown only now:\n\n    {}\n",
            settings.data_dir.join("master.key").display(),
            secrets.master_key.expose()
        );
    }
    let address = listen_address(&settings.listen);
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(address = %local, database = %redacted_url(&settings.database_url()), "chalk-server listening");
    crate::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

/// The database URL without any password, for the log.
fn redacted_url(url: &str) -> String {
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
