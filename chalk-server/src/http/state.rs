//! [`AppState`]: what every handler shares, cheap to clone (`Arc` inside).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::crypto::Sealer;
use crate::domain::core::Core;
use crate::domain::policy::Policy;
use crate::domain::signing::TokenSigner;
use crate::http::rate_limit::{FailureThrottle, RateLimit};
use crate::store::Store;
use chalk_sdk::SecretString;

#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// Connection limits `serve` enforces (docs/api.md Hardening rules).
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// The [`Core`] the rules share, and what only the HTTP layer needs beside it.
pub struct App {
    pub core: Core,
    pub master_key: SecretString,
    pub rate_limiter: RateLimit,
    pub limits: Limits,
    /// Failed authentications per client address (see `throttle::throttle_failures`).
    pub auth_failures: FailureThrottle,
    /// Refusals held back from the audit log (see `denials.rs`).
    pub denials: crate::http::denial_log::DenialLog,
    /// Set when shutdown begins: `/readyz` turns 503 so a load balancer drains us.
    pub shutting_down: AtomicBool,
    /// When this process last recorded each API key's use (see `credentials::record_key_use`).
    pub key_uses: Mutex<HashMap<String, i64>>,
}

impl std::ops::Deref for App {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.core
    }
}

impl AppState {
    pub fn new(
        store: Arc<Store>,
        master_key: SecretString,
        signer: TokenSigner,
        sealer: Sealer,
        policy: Policy,
    ) -> Self {
        Self::with_rate_limit(
            store,
            master_key,
            signer,
            sealer,
            policy,
            RateLimit::default(),
        )
    }

    /// As [`AppState::new`], with the given limiter (e.g. Redis shared by instances).
    pub fn with_rate_limit(
        store: Arc<Store>,
        master_key: SecretString,
        signer: TokenSigner,
        sealer: Sealer,
        policy: Policy,
        rate_limiter: RateLimit,
    ) -> Self {
        AppState(Arc::new(App {
            core: Core::new(store, signer, sealer, policy),
            master_key,
            rate_limiter,
            limits: Limits::default(),
            auth_failures: FailureThrottle::default(),
            denials: Default::default(),
            shutting_down: AtomicBool::new(false),
            key_uses: Mutex::new(HashMap::new()),
        }))
    }

    /// The same state with these connection limits; only before the state is shared.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        Arc::get_mut(&mut self.0)
            .expect("limits are set before the state is shared")
            .limits = limits;
        self
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}
