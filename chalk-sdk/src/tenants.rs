//! `client.tenants()`: `/api/v1/tenants`, `/api/v1/tenant` and per-tenant actions.

use futures_util::Stream;
use reqwest::Method;

use crate::api_keys::ApiKeys;
use crate::client::Client;
use crate::config::ConfigApi;
use crate::error::Result;
use crate::model::{
    CreateTenantRequest, CreatedTenant, Deleted, ListTenantsQuery, Page, RotateKeyRequest,
    RotatedKey, Tenant, UpdateTenantRequest,
};
use crate::pagination::walk;
use crate::webhooks_api::{Events, WebhookDeliveries, WebhookEndpoints};

/// Tenants. Get one with [`Client::tenants`].
#[derive(Debug, Clone, Copy)]
pub struct Tenants<'c> {
    client: &'c Client,
}

impl<'c> Tenants<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// A tenant's config: `/api/v1/tenants/{id}/config`.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let config = client.tenants().config("tenant_abc123").get().await?;
    /// # Ok(()) }
    /// ```
    pub fn config(&self, tenant_id: impl Into<String>) -> ConfigApi<'c> {
        ConfigApi::new(self.client, tenant_id.into())
    }

    /// A tenant's API keys: `/api/v1/tenants/{id}/api-keys`.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let keys = client.tenants().api_keys("tenant_abc123").list(&Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub fn api_keys(&self, tenant_id: impl Into<String>) -> ApiKeys<'c> {
        ApiKeys::new(self.client, tenant_id.into())
    }

    /// A tenant's webhook endpoints: `/api/v1/tenants/{id}/webhook-endpoints`.
    pub fn webhook_endpoints(&self, tenant_id: impl Into<String>) -> WebhookEndpoints<'c> {
        WebhookEndpoints::new(self.client, tenant_id.into())
    }

    /// A tenant's webhook delivery log: `/api/v1/tenants/{id}/webhook-deliveries`.
    pub fn webhook_deliveries(&self, tenant_id: impl Into<String>) -> WebhookDeliveries<'c> {
        WebhookDeliveries::new(self.client, tenant_id.into())
    }

    /// A tenant's events: `/api/v1/tenants/{id}/events`.
    pub fn events(&self, tenant_id: impl Into<String>) -> Events<'c> {
        Events::new(self.client, tenant_id.into())
    }

    /// Creates a tenant (`POST /tenants`): with the master key, or with no credential when
    /// the server runs with open registration. The answer holds the primary API key, shown
    /// this once. Sent with a fresh `Idempotency-Key`, so retries never create a second tenant.
    ///
    /// ```no_run
    /// use chalk_sdk::model::CreateTenantRequest;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let request = CreateTenantRequest {
    ///     email: Some("ops@acme.edu".into()),
    ///     max_concurrent_rooms: Some(50),
    ///     ..CreateTenantRequest::new("Acme University")
    /// };
    /// let created = client.tenants().create(&request).await?;
    /// println!("{} key {}", created.tenant.id, created.api_key.expose());
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, request: &CreateTenantRequest) -> Result<CreatedTenant> {
        self.create_inner(request, None).await
    }

    /// [`create`](Self::create) with your own `Idempotency-Key` (1..=255 printable ASCII):
    /// the same key and body within 24 h returns the first answer again, even from another
    /// process — e.g. a re-run CI job.
    ///
    /// ```no_run
    /// use chalk_sdk::model::CreateTenantRequest;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let created = client
    ///     .tenants()
    ///     .create_with_idempotency_key(&CreateTenantRequest::new("Acme"), "ci-run-4711")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_with_idempotency_key(
        &self,
        request: &CreateTenantRequest,
        idempotency_key: impl Into<String>,
    ) -> Result<CreatedTenant> {
        self.create_inner(request, Some(idempotency_key.into()))
            .await
    }

    async fn create_inner(
        &self,
        request: &CreateTenantRequest,
        idempotency_key: Option<String>,
    ) -> Result<CreatedTenant> {
        self.client
            .call(Method::POST, &["tenants"])
            .idempotency_key(idempotency_key)
            .json(request)
            .data()
            .await
    }

    /// One page of tenants (`GET /tenants`, master key). Pass `next_cursor` back as
    /// `cursor` for the next page, or use [`list_all`](Self::list_all).
    ///
    /// ```no_run
    /// use chalk_sdk::model::{ListTenantsQuery, TenantStatus};
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let query = ListTenantsQuery { status: Some(TenantStatus::Suspended), limit: Some(100), ..Default::default() };
    /// // Or `external_id: Some("acme".into())`: a page of 0 or 1 tenant (see `get_by_external_id`).
    /// let page = client.tenants().list(&query).await?;
    /// for tenant in &page.data {
    ///     println!("{} {}", tenant.id, tenant.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, query: &ListTenantsQuery) -> Result<Page<Tenant>> {
        self.client
            .call(Method::GET, &["tenants"])
            .query(query)
            .send()
            .await?
            .decode()
    }

    /// Every tenant, page after page (following `next_cursor` from `query.cursor` on). The
    /// stream owns a clone of the client; the first error ends it.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let all: Vec<_> = client.tenants().list_all(Default::default()).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn list_all(
        &self,
        query: ListTenantsQuery,
    ) -> impl Stream<Item = Result<Tenant>> + Send + 'static {
        walk(self.client.clone(), vec!["tenants".to_owned()], query)
    }

    /// The tenant with this external id (`GET /tenants?external_id=`, master key), or `None`
    /// when no tenant has it. External ids are unique, so there is never more than one; a
    /// value no tenant could have (not `[a-z0-9][a-z0-9._-]{0,62}`) is an error, 400
    /// `INVALID_REQUEST`, rather than `None`.
    ///
    /// ```no_run
    /// use chalk_sdk::model::CreateTenantRequest;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// // Provision "acme" once, however often this runs.
    /// let tenant = match client.tenants().get_by_external_id("acme").await? {
    ///     Some(tenant) => tenant,
    ///     None => {
    ///         let request = CreateTenantRequest {
    ///             external_id: Some("acme".into()),
    ///             ..CreateTenantRequest::new("Acme University")
    ///         };
    ///         client.tenants().create(&request).await?.tenant
    ///     }
    /// };
    /// println!("acme is {}", tenant.id);
    /// # Ok(()) }
    /// ```
    pub async fn get_by_external_id(&self, external_id: &str) -> Result<Option<Tenant>> {
        let query = ListTenantsQuery {
            external_id: Some(external_id.to_owned()),
            ..ListTenantsQuery::default()
        };
        Ok(self.list(&query).await?.data.into_iter().next())
    }

    /// A tenant with its config and usage (`GET /tenants/{id}`).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let tenant = client.tenants().get("tenant_abc123").await?;
    /// println!("{} rooms active", tenant.usage.active_rooms);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, id: &str) -> Result<Tenant> {
        self.client.call(Method::GET, &["tenants", id]).data().await
    }

    /// A tenant and its `ETag`, for [`update_if_match`](Self::update_if_match).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let (tenant, etag) = client.tenants().get_with_etag("tenant_abc123").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_with_etag(&self, id: &str) -> Result<(Tenant, String)> {
        self.client
            .call(Method::GET, &["tenants", id])
            .data_with_etag()
            .await
    }

    /// The caller's own tenant (`GET /tenant`), for any tenant credential.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let me = client.tenants().current().await?;
    /// println!("I am {}", me.id);
    /// # Ok(()) }
    /// ```
    pub async fn current(&self) -> Result<Tenant> {
        self.client.call(Method::GET, &["tenant"]).data().await
    }

    /// Changes the fields present in `request` (`PATCH /tenants/{id}`); quota fields,
    /// `status` and `external_id` need the master key. Returns the whole tenant.
    ///
    /// ```no_run
    /// use chalk_sdk::model::{Patch, UpdateTenantRequest};
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let request = UpdateTenantRequest {
    ///     name: Some("Acme U".into()),
    ///     email: Patch::Reset,                  // removes the email
    ///     external_id: Patch::Set("acme".into()), // Patch::Reset removes it
    ///     ..Default::default()
    /// };
    /// let tenant = client.tenants().update("tenant_abc123", &request).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update(&self, id: &str, request: &UpdateTenantRequest) -> Result<Tenant> {
        self.client
            .call(Method::PATCH, &["tenants", id])
            .json(request)
            .data()
            .await
    }

    /// [`update`](Self::update), applied only if the tenant still has this `ETag` (from
    /// [`get_with_etag`](Self::get_with_etag)); otherwise 412 `PRECONDITION_FAILED`.
    ///
    /// ```no_run
    /// use chalk_sdk::model::UpdateTenantRequest;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let tenants = client.tenants();
    /// let (tenant, etag) = tenants.get_with_etag("tenant_abc123").await?;
    /// let request = UpdateTenantRequest { name: Some(format!("{} (old)", tenant.name)), ..Default::default() };
    /// tenants.update_if_match(&tenant.id, &etag, &request).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_if_match(
        &self,
        id: &str,
        etag: &str,
        request: &UpdateTenantRequest,
    ) -> Result<Tenant> {
        self.client
            .call(Method::PATCH, &["tenants", id])
            .if_match(etag)
            .json(request)
            .data()
            .await
    }

    /// [`update_if_match`](Self::update_if_match), returning the new `ETag` too.
    pub async fn update_if_match_with_etag(
        &self,
        id: &str,
        etag: &str,
        request: &UpdateTenantRequest,
    ) -> Result<(Tenant, String)> {
        self.client
            .call(Method::PATCH, &["tenants", id])
            .if_match(etag)
            .json(request)
            .data_with_etag()
            .await
    }

    /// Deletes a tenant and everything it owns (`DELETE /tenants/{id}`).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let deleted = client.tenants().delete("tenant_abc123").await?;
    /// assert!(deleted.deleted);
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, id: &str) -> Result<Deleted> {
        self.client
            .call(Method::DELETE, &["tenants", id])
            .data()
            .await
    }

    /// Issues a new primary key, shown this once (`POST /tenants/{id}/rotate-key`). Sent
    /// with a fresh `Idempotency-Key`, so a retry never rotates twice.
    ///
    /// ```no_run
    /// use chalk_sdk::model::RotateKeyRequest;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// // Keep the old key working for an hour of rolling deploy.
    /// let request = RotateKeyRequest { expire_previous_in_seconds: Some(3600) };
    /// let rotated = client.tenants().rotate_key("tenant_abc123", &request).await?;
    /// println!("new key {}", rotated.api_key.expose());
    /// # Ok(()) }
    /// ```
    pub async fn rotate_key(&self, id: &str, request: &RotateKeyRequest) -> Result<RotatedKey> {
        self.rotate_key_inner(id, request, None).await
    }

    /// [`rotate_key`](Self::rotate_key) with your own `Idempotency-Key`.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let rotated = client
    ///     .tenants()
    ///     .rotate_key_with_idempotency_key("tenant_abc123", &Default::default(), "rotate-2026-01")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn rotate_key_with_idempotency_key(
        &self,
        id: &str,
        request: &RotateKeyRequest,
        idempotency_key: impl Into<String>,
    ) -> Result<RotatedKey> {
        self.rotate_key_inner(id, request, Some(idempotency_key.into()))
            .await
    }

    async fn rotate_key_inner(
        &self,
        id: &str,
        request: &RotateKeyRequest,
        idempotency_key: Option<String>,
    ) -> Result<RotatedKey> {
        self.client
            .call(Method::POST, &["tenants", id, "rotate-key"])
            .idempotency_key(idempotency_key)
            .json(request)
            .data()
            .await
    }

    /// Suspends a tenant (`POST /tenants/{id}/suspend`, master key): every credential of it
    /// gets 403 `TENANT_SUSPENDED`; nothing is deleted.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let tenant = client.tenants().suspend("tenant_abc123").await?;
    /// # Ok(()) }
    /// ```
    pub async fn suspend(&self, id: &str) -> Result<Tenant> {
        self.client
            .call(Method::POST, &["tenants", id, "suspend"])
            .data()
            .await
    }

    /// Resumes a suspended tenant (`POST /tenants/{id}/resume`, master key).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let tenant = client.tenants().resume("tenant_abc123").await?;
    /// # Ok(()) }
    /// ```
    pub async fn resume(&self, id: &str) -> Result<Tenant> {
        self.client
            .call(Method::POST, &["tenants", id, "resume"])
            .data()
            .await
    }
}
