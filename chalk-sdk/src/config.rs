//! `client.tenants().config(id)`: `/api/v1/tenants/{id}/config`.

use reqwest::Method;

use crate::client::Client;
use crate::error::Result;
use crate::model::{ConfigPatch, TenantConfigResponse};

/// A tenant's config. Get one with [`Tenants::config`](crate::Tenants::config).
#[derive(Debug, Clone)]
pub struct ConfigApi<'c> {
    client: &'c Client,
    tenant_id: String,
}

impl<'c> ConfigApi<'c> {
    pub(crate) fn new(client: &'c Client, tenant_id: String) -> Self {
        Self { client, tenant_id }
    }

    /// The tenant's config, secrets masked (`GET /tenants/{id}/config`).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let response = client.tenants().config("tenant_abc123").get().await?;
    /// println!("recordings kept {} days", response.config.recording_retention_days);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self) -> Result<TenantConfigResponse> {
        self.client
            .call(Method::GET, &["tenants", &self.tenant_id, "config"])
            .data()
            .await
    }

    /// The config and its `ETag`, for [`update_if_match`](Self::update_if_match).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let (response, etag) = client.tenants().config("tenant_abc123").get_with_etag().await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_with_etag(&self) -> Result<(TenantConfigResponse, String)> {
        self.client
            .call(Method::GET, &["tenants", &self.tenant_id, "config"])
            .data_with_etag()
            .await
    }

    /// Applies a merge patch (`PATCH /tenants/{id}/config`): fields left
    /// [`Patch::Absent`](crate::model::Patch::Absent) stay, [`Patch::Set`](crate::model::Patch::Set)
    /// changes them, [`Patch::Reset`](crate::model::Patch::Reset) restores the default. One
    /// invalid field rejects the whole patch (422 with every bad field in `details`).
    ///
    /// ```no_run
    /// use chalk_sdk::model::{ConfigPatch, Patch};
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let patch = ConfigPatch {
    ///     force_recording: Patch::Set(true),
    ///     allowed_origins: Patch::Set(vec!["https://app.acme.edu".into()]),
    ///     transcription_language: Patch::Reset,
    ///     ..Default::default()
    /// };
    /// let response = client.tenants().config("tenant_abc123").update(&patch).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update(&self, patch: &ConfigPatch) -> Result<TenantConfigResponse> {
        self.client
            .call(Method::PATCH, &["tenants", &self.tenant_id, "config"])
            .json(patch)
            .data()
            .await
    }

    /// [`update`](Self::update), applied only if the config still has this `ETag`;
    /// otherwise 412 `PRECONDITION_FAILED`.
    ///
    /// ```no_run
    /// use chalk_sdk::model::{ConfigPatch, Patch};
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let config = client.tenants().config("tenant_abc123");
    /// let (current, etag) = config.get_with_etag().await?;
    /// let mut keywords = current.config.transcription_keywords;
    /// keywords.push("photosynthesis".into());
    /// let patch = ConfigPatch { transcription_keywords: Patch::Set(keywords), ..Default::default() };
    /// config.update_if_match(&etag, &patch).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_if_match(
        &self,
        etag: &str,
        patch: &ConfigPatch,
    ) -> Result<TenantConfigResponse> {
        self.client
            .call(Method::PATCH, &["tenants", &self.tenant_id, "config"])
            .if_match(etag)
            .json(patch)
            .data()
            .await
    }

    /// [`update_if_match`](Self::update_if_match), returning the new `ETag` too, for a
    /// next write that must not overwrite a change made in between.
    pub async fn update_if_match_with_etag(
        &self,
        etag: &str,
        patch: &ConfigPatch,
    ) -> Result<(TenantConfigResponse, String)> {
        self.client
            .call(Method::PATCH, &["tenants", &self.tenant_id, "config"])
            .if_match(etag)
            .json(patch)
            .data_with_etag()
            .await
    }
}
