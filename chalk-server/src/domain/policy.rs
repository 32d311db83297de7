//! [`Policy`]: the behaviour settings the rules, the middleware and the workers read
//! (the rest of `Settings` is start-up only).

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
