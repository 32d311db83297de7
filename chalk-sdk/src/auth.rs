//! `client.auth()`: `/api/v1/auth/token`, `/refresh` and `/revoke`.
//!
//! These calls carry their credential in the body and send no credential header, whatever
//! the client was built with. They are not retried: a refresh token works once.

use reqwest::Method;

use crate::client::Client;
use crate::error::Result;
use crate::model::{RefreshRequest, RevokeRequest, Revoked, TokenPair, TokenRequest};
use crate::secret::SecretString;

/// Token exchange. Get one with [`Client::auth`]. For a client that obtains and renews
/// tokens by itself, see [`ClientBuilder::token_mode`](crate::ClientBuilder::token_mode).
#[derive(Debug, Clone, Copy)]
pub struct Auth<'c> {
    client: &'c Client,
}

impl<'c> Auth<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Exchanges an API key for an access token and a refresh token (`POST /auth/token`).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let pair = client.auth().token("sk_live_...").await?;
    /// println!("valid for {} s", pair.expires_in);
    /// # Ok(()) }
    /// ```
    pub async fn token(&self, api_key: impl Into<SecretString>) -> Result<TokenPair> {
        let body = TokenRequest {
            api_key: api_key.into(),
        };
        self.post("token", &body).await
    }

    /// Trades a refresh token for a new pair (`POST /auth/refresh`). A refresh token works
    /// once: presenting a used one is 401 `INVALID_REFRESH_TOKEN` and revokes its chain.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let pair = client.auth().token("sk_live_...").await?;
    /// let renewed = client.auth().refresh(pair.refresh_token).await?;
    /// # Ok(()) }
    /// ```
    pub async fn refresh(&self, refresh_token: impl Into<SecretString>) -> Result<TokenPair> {
        let body = RefreshRequest {
            refresh_token: refresh_token.into(),
        };
        self.post("refresh", &body).await
    }

    /// Revokes a refresh token and its chain (`POST /auth/revoke`); always `revoked: true`
    /// for a well-formed request, whether or not the token existed.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let pair = client.auth().token("sk_live_...").await?;
    /// client.auth().revoke(pair.refresh_token).await?;
    /// # Ok(()) }
    /// ```
    pub async fn revoke(&self, token: impl Into<SecretString>) -> Result<Revoked> {
        let body = RevokeRequest {
            token: token.into(),
        };
        self.post("revoke", &body).await
    }

    async fn post<B, T>(&self, action: &str, body: &B) -> Result<T>
    where
        B: serde::Serialize,
        T: serde::de::DeserializeOwned,
    {
        self.client
            .call(Method::POST, &["auth", action])
            .unauthenticated()
            .json(body)
            .data()
            .await
    }
}
