//! `client.tenants().api_keys(id)`: `/api/v1/tenants/{id}/api-keys`.

use futures_util::Stream;
use reqwest::Method;

use crate::client::Client;
use crate::error::Result;
use crate::model::{ApiKey, CreateApiKeyRequest, CreatedApiKey, Deleted, ListQuery, Page};
use crate::pagination::walk;

/// A tenant's scoped API keys. Get one with [`Tenants::api_keys`](crate::Tenants::api_keys).
#[derive(Debug, Clone)]
pub struct ApiKeys<'c> {
    client: &'c Client,
    tenant_id: String,
}

impl<'c> ApiKeys<'c> {
    pub(crate) fn new(client: &'c Client, tenant_id: String) -> Self {
        Self { client, tenant_id }
    }

    /// Creates a key (`POST /tenants/{id}/api-keys`); its secret is shown this once. Sent
    /// with a fresh `Idempotency-Key`, so retries never create a second key.
    ///
    /// ```no_run
    /// use chalk_sdk::model::{CreateApiKeyRequest, Scope};
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let request = CreateApiKeyRequest {
    ///     name: "dashboard".into(),
    ///     scopes: vec![Scope::RoomsRead],
    ///     expires_at: None,
    /// };
    /// let created = client.tenants().api_keys("tenant_abc123").create(&request).await?;
    /// println!("{} {}", created.key_id, created.api_key.expose());
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, request: &CreateApiKeyRequest) -> Result<CreatedApiKey> {
        self.create_inner(request, None).await
    }

    /// [`create`](Self::create) with your own `Idempotency-Key` (1..=255 printable ASCII).
    ///
    /// ```no_run
    /// use chalk_sdk::model::{CreateApiKeyRequest, Scope};
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let request = CreateApiKeyRequest { name: "ci".into(), scopes: vec![Scope::RoomsWrite], expires_at: None };
    /// let created = client
    ///     .tenants()
    ///     .api_keys("tenant_abc123")
    ///     .create_with_idempotency_key(&request, "ci-key-4711")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_with_idempotency_key(
        &self,
        request: &CreateApiKeyRequest,
        idempotency_key: impl Into<String>,
    ) -> Result<CreatedApiKey> {
        self.create_inner(request, Some(idempotency_key.into()))
            .await
    }

    async fn create_inner(
        &self,
        request: &CreateApiKeyRequest,
        idempotency_key: Option<String>,
    ) -> Result<CreatedApiKey> {
        self.client
            .call(Method::POST, &["tenants", &self.tenant_id, "api-keys"])
            .idempotency_key(idempotency_key)
            .json(request)
            .data()
            .await
    }

    /// One page of keys, without secrets (`GET /tenants/{id}/api-keys`).
    ///
    /// ```no_run
    /// use chalk_sdk::model::ListQuery;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let page = client.tenants().api_keys("tenant_abc123").list(&ListQuery::default()).await?;
    /// for key in &page.data {
    ///     println!("{} {} {:?}", key.id, key.prefix, key.scopes);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, query: &ListQuery) -> Result<Page<ApiKey>> {
        self.client
            .call(Method::GET, &["tenants", &self.tenant_id, "api-keys"])
            .query(query)
            .send()
            .await?
            .decode()
    }

    /// Every key, page after page; the first error ends the stream.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let keys: Vec<_> = client
    ///     .tenants()
    ///     .api_keys("tenant_abc123")
    ///     .list_all(Default::default())
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list_all(
        &self,
        query: ListQuery,
    ) -> impl Stream<Item = Result<ApiKey>> + Send + 'static {
        walk(
            self.client.clone(),
            vec![
                "tenants".to_owned(),
                self.tenant_id.clone(),
                "api-keys".to_owned(),
            ],
            query,
        )
    }

    /// Revokes a key (`DELETE /tenants/{id}/api-keys/{key_id}`); its tokens stop working.
    /// The primary key can only be replaced with
    /// [`rotate_key`](crate::Tenants::rotate_key) (409 here).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// client.tenants().api_keys("tenant_abc123").revoke("key_xyz").await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke(&self, key_id: &str) -> Result<Deleted> {
        self.client
            .call(
                Method::DELETE,
                &["tenants", &self.tenant_id, "api-keys", key_id],
            )
            .data()
            .await
    }
}
