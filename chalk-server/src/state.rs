//! [`AppState`]: what every handler shares, cheap to clone (`Arc` inside).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::crypto::Sealer;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimit;
use crate::store::Store;
use crate::tokens::TokenSigner;
use chalk_sdk::SecretString;

#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// Behaviour settings the handlers need (the rest of `Settings` is start-up only).
#[derive(Debug, Clone)]
pub struct Policy {
    pub open_registration: bool,
    pub default_rate_limit: i64,
    pub access_token_ttl: i64,
    pub refresh_token_ttl: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            open_registration: false,
            default_rate_limit: 1000,
            access_token_ttl: 3600,
            refresh_token_ttl: 2_592_000,
        }
    }
}

pub struct App {
    pub store: Arc<Store>,
    pub master_key: SecretString,
    pub signer: TokenSigner,
    pub sealer: Sealer,
    pub rate_limiter: RateLimit,
    pub metrics: Metrics,
    pub policy: Policy,
    /// Set when shutdown begins: `/readyz` turns 503 so a load balancer drains us.
    pub shutting_down: AtomicBool,
    /// When this process last recorded each API key's use (see `auth::record_key_use`).
    pub key_uses: Mutex<HashMap<String, i64>>,
}

impl AppState {
    pub fn new(
        store: Arc<Store>,
        master_key: SecretString,
        jwt_secret: &SecretString,
        sealer: Sealer,
        policy: Policy,
    ) -> Self {
        Self::with_rate_limit(
            store,
            master_key,
            jwt_secret,
            sealer,
            policy,
            RateLimit::default(),
        )
    }

    /// As [`AppState::new`], with the given limiter (e.g. Redis shared by instances).
    pub fn with_rate_limit(
        store: Arc<Store>,
        master_key: SecretString,
        jwt_secret: &SecretString,
        sealer: Sealer,
        policy: Policy,
        rate_limiter: RateLimit,
    ) -> Self {
        AppState(Arc::new(App {
            store,
            master_key,
            signer: TokenSigner::new(jwt_secret.expose().as_bytes()),
            sealer,
            rate_limiter,
            metrics: Metrics::default(),
            policy,
            shutting_down: AtomicBool::new(false),
            key_uses: Mutex::new(HashMap::new()),
        }))
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Unix seconds → the wire's RFC 3339 timestamp.
pub fn to_datetime(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}
