//! `client.operator_keys()`: `/api/v1/operator-keys` (master key or an operator key).

use futures_util::Stream;
use reqwest::Method;

use crate::client::Client;
use crate::error::Result;
use crate::model::{
    CreateOperatorKeyRequest, CreatedOperatorKey, Deleted, ListQuery, OperatorKey, Page,
};
use crate::pagination::walk;

/// Operator keys: named credentials with the master key's powers, sent as `X-Master-Key`
/// (build the client with [`ClientBuilder::master_key`](crate::ClientBuilder::master_key)).
/// Get one with [`Client::operator_keys`].
#[derive(Debug, Clone, Copy)]
pub struct OperatorKeys<'c> {
    client: &'c Client,
}

impl<'c> OperatorKeys<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Creates an operator key (`POST /operator-keys`); its secret (`ok_live_…`) is shown
    /// this once. Sent with a fresh `Idempotency-Key`, so retries never create a second key.
    ///
    /// ```no_run
    /// use chalk_sdk::model::CreateOperatorKeyRequest;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let request = CreateOperatorKeyRequest { name: "alice".into(), expires_at: None };
    /// let created = client.operator_keys().create(&request).await?;
    /// println!("{} {}", created.id, created.key.expose());
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, request: &CreateOperatorKeyRequest) -> Result<CreatedOperatorKey> {
        self.client
            .call(Method::POST, &["operator-keys"])
            .idempotency_key(None)
            .json(request)
            .data()
            .await
    }

    /// One page of operator keys that still work, without secrets (`GET /operator-keys`).
    pub async fn list(&self, query: &ListQuery) -> Result<Page<OperatorKey>> {
        self.client
            .call(Method::GET, &["operator-keys"])
            .query(query)
            .send()
            .await?
            .decode()
    }

    /// Every operator key, page after page; the first error ends the stream.
    pub fn list_all(
        &self,
        query: ListQuery,
    ) -> impl Stream<Item = Result<OperatorKey>> + Send + 'static {
        walk(self.client.clone(), vec!["operator-keys".to_owned()], query)
    }

    /// Revokes an operator key (`DELETE /operator-keys/{id}`): refused at once on every
    /// instance. The key making the request cannot revoke itself (409).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// client.operator_keys().revoke("op_abc").await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke(&self, id: &str) -> Result<Deleted> {
        self.client
            .call(Method::DELETE, &["operator-keys", id])
            .data()
            .await
    }
}
