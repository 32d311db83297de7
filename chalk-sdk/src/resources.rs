//! The resource accessors of [`Client`]: `client.tenants()`, `client.rooms()`, ...
//!
//! Each handler holds a `&Client` to send through, so these live in a module of their own
//! above both the client and the handlers, instead of in `client.rs`, which the handlers
//! import.

use crate::audit::Audit;
use crate::auth::Auth;
use crate::client::Client;
use crate::operator_keys::OperatorKeys;
use crate::ops::Ops;
use crate::rooms::Rooms;
use crate::signing_keys::SigningKeys;
use crate::tenants::Tenants;
use crate::usage::{UsageExport, UsageRequest};

impl Client {
    /// Tenants: create, list, get, update, delete, rotate keys, suspend, resume; and,
    /// through [`Tenants::config`] and [`Tenants::api_keys`], a tenant's config and keys.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let tenant = client.tenants().get("tenant_abc123").await?;
    /// # Ok(()) }
    /// ```
    pub fn tenants(&self) -> Tenants<'_> {
        Tenants::new(self)
    }

    /// Liveness, readiness, metrics and the OpenAPI document, for probes and dashboards.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let ready = client.ops().ready().await?;
    /// # Ok(()) }
    /// ```
    pub fn ops(&self) -> Ops<'_> {
        Ops::new(self)
    }

    /// Token exchange, refresh and revocation (`/auth/...`). These calls carry their
    /// credential in the body and send no credential header.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let pair = client.auth().token("sk_live_...").await?;
    /// # Ok(()) }
    /// ```
    pub fn auth(&self) -> Auth<'_> {
        Auth::new(self)
    }

    /// Rooms (create, list, get, end) and, through [`Rooms::participants`], a room's
    /// participants and their tokens.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let room = client.rooms().get("room_cs101").await?;
    /// # Ok(()) }
    /// ```
    pub fn rooms(&self) -> Rooms<'_> {
        Rooms::new(self)
    }

    /// The server's token signing keys: list and rotate them (master key), or read the
    /// public JWKS. To verify tokens offline, see [`Verifier`](crate::tokens::Verifier).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let rotated = client.signing_keys().rotate().await?;
    /// # Ok(()) }
    /// ```
    pub fn signing_keys(&self) -> SigningKeys<'_> {
        SigningKeys::new(self)
    }

    /// Operator keys (master key or an operator key).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let keys = client.operator_keys().list(&Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub fn operator_keys(&self) -> OperatorKeys<'_> {
        OperatorKeys::new(self)
    }

    /// The audit log (master or operator key; a tenant's own with `tenant:admin`).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let page = client.audit().list(&Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub fn audit(&self) -> Audit<'_> {
        Audit::new(self)
    }

    /// A tenant's usage per hour, day or month (`GET /tenants/{id}/usage`): master or
    /// operator key, or the tenant with `tenant:read`. Set the range, then `.await`.
    ///
    /// ```no_run
    /// use chalk_sdk::model::Granularity;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let usage = client.usage("tenant_abc123").granularity(Granularity::Hour).await?;
    /// # Ok(()) }
    /// ```
    pub fn usage(&self, tenant_id: impl Into<String>) -> UsageRequest<'_> {
        UsageRequest::new(self, tenant_id.into())
    }

    /// Every tenant's usage (`GET /usage`, master or operator key), for billing: a page at
    /// a time, or the whole range streamed as typed rows or CSV.
    pub fn usage_export(&self) -> UsageExport<'_> {
        UsageExport::new(self)
    }
}
