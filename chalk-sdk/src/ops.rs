//! `client.ops()`: `/healthz`, `/readyz`, `/metrics` and `/api/v1/openapi.json`.
//!
//! These send no credential (a token-mode client does not mint tokens for a probe) and,
//! being `GET`s, are retried like any other safe request; build the client with
//! [`RetryPolicy::none`](crate::RetryPolicy::none) for a probe that must answer at once.

use reqwest::Method;

use crate::client::Client;
use crate::error::Result;
use crate::model::Health;
use crate::transport::Raw;

/// Operations endpoints. Get one with [`Client::ops`].
#[derive(Debug, Clone, Copy)]
pub struct Ops<'c> {
    client: &'c Client,
}

impl<'c> Ops<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Whether the process is up (`GET /healthz`): `status` is `ok`.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// assert_eq!(client.ops().health().await?.status, "ok");
    /// # Ok(()) }
    /// ```
    pub async fn health(&self) -> Result<Health> {
        self.get(&["healthz"]).await?.decode()
    }

    /// Whether the server can serve (`GET /readyz`): `status` is `ready`, else an
    /// [`Error::Api`](crate::Error::Api) with code `UNAVAILABLE` (store unreachable,
    /// shutting down).
    ///
    /// ```no_run
    /// use chalk_sdk::model::ErrorCode;
    /// # async fn run(client: chalk_sdk::Client) {
    /// match client.ops().ready().await {
    ///     Ok(_) => println!("ready"),
    ///     Err(e) if e.code() == Some(&ErrorCode::Unavailable) => println!("not ready: {e}"),
    ///     Err(e) => println!("probe failed: {e}"),
    /// }
    /// # }
    /// ```
    pub async fn ready(&self) -> Result<Health> {
        self.get(&["readyz"]).await?.decode()
    }

    /// The Prometheus metrics, in the text exposition format (`GET /metrics`).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let text = client.ops().metrics().await?;
    /// for line in text.lines().filter(|l| l.starts_with("http_requests")) {
    ///     println!("{line}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn metrics(&self) -> Result<String> {
        Ok(self.get(&["metrics"]).await?.text())
    }

    /// The server's OpenAPI 3.1 document (`GET /api/v1/openapi.json`), as JSON.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let document = client.ops().openapi().await?;
    /// println!("API version {}", document["info"]["version"]);
    /// # Ok(()) }
    /// ```
    pub async fn openapi(&self) -> Result<serde_json::Value> {
        self.client
            .call(Method::GET, &["openapi.json"])
            .unauthenticated()
            .send()
            .await?
            .decode()
    }

    async fn get(&self, segments: &[&str]) -> Result<Raw> {
        self.client
            .call_under(&[], Method::GET, segments)
            .unauthenticated()
            .send()
            .await
    }
}
