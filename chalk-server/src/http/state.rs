//! [`AppState`]: what every handler shares, cheap to clone (`Arc` inside).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::crypto::Sealer;
use crate::domain::signing::TokenSigner;
use crate::http::rate_limit::{FailureThrottle, RateLimit};
use crate::metrics::Metrics;
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

/// Behaviour settings the handlers need (the rest of `Settings` is start-up only).
#[derive(Debug, Clone)]
pub struct Policy {
    pub open_registration: bool,
    pub default_rate_limit: i64,
    pub access_token_ttl: i64,
    pub refresh_token_ttl: i64,
    /// Requests per minute for each participant token, counted apart from its tenant.
    pub participant_rate_limit: i64,
    /// Tenants an anonymous caller may create per hour from one client address, with open
    /// registration (`CHALK_REGISTRATION_RATE_LIMIT`).
    pub registration_rate_limit: i64,
    /// Days audit entries are kept (`CHALK_AUDIT_RETENTION_DAYS`).
    pub audit_retention_days: i64,
    /// Failed authentications per minute from one client address before it is throttled.
    pub auth_failure_limit: i64,
    /// Peers whose `X-Forwarded-For` names the client (`CHALK_TRUSTED_PROXIES`).
    pub trusted_proxies: crate::net::client_ip::TrustedProxies,
    /// Which webhook targets are allowed (`CHALK_WEBHOOK_ALLOW_PRIVATE`).
    pub webhook_targets: crate::net::webhook_target::TargetPolicy,
    /// How the delivery worker sends (`CHALK_WEBHOOK_RETRY_SCHEDULE`, `…_TIMEOUT`, …).
    pub webhook_delivery: crate::domain::webhook_schedule::DeliveryConfig,
}

impl Policy {
    /// How long a rotated-away signing key keeps verifying: until every token it signed
    /// has expired, plus a margin for instances that signed with it a little longer.
    pub fn signing_key_overlap(&self) -> i64 {
        self.access_token_ttl.max(self.refresh_token_ttl)
            + crate::domain::signing::ROTATION_MARGIN_SECONDS
    }
}

/// Days audit entries are kept by default (`CHALK_AUDIT_RETENTION_DAYS`).
pub const DEFAULT_AUDIT_RETENTION_DAYS: i64 = 365;

impl Default for Policy {
    fn default() -> Self {
        Self {
            open_registration: false,
            default_rate_limit: 1000,
            access_token_ttl: 3600,
            refresh_token_ttl: 2_592_000,
            participant_rate_limit: 120,
            registration_rate_limit: 10,
            audit_retention_days: DEFAULT_AUDIT_RETENTION_DAYS,
            auth_failure_limit: 20,
            trusted_proxies: Default::default(),
            webhook_targets: Default::default(),
            webhook_delivery: Default::default(),
        }
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

pub struct App {
    pub store: Arc<Store>,
    pub master_key: SecretString,
    pub signer: TokenSigner,
    pub sealer: Sealer,
    pub rate_limiter: RateLimit,
    pub metrics: Metrics,
    pub policy: Policy,
    pub limits: Limits,
    /// Failed authentications per client address (see `auth::throttle_failures`).
    pub auth_failures: FailureThrottle,
    /// Refusals held back from the audit log (see `denials.rs`).
    pub denials: crate::http::denials::DenialLog,
    /// Set when shutdown begins: `/readyz` turns 503 so a load balancer drains us.
    pub shutting_down: AtomicBool,
    /// When this process last recorded each API key's use (see `auth::record_key_use`).
    pub key_uses: Mutex<HashMap<String, i64>>,
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
        crate::http::pagination::use_sealer(&sealer);
        AppState(Arc::new(App {
            store,
            master_key,
            signer,
            sealer,
            rate_limiter,
            metrics: Metrics::default(),
            policy,
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
