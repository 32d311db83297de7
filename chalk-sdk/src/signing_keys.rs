//! `client.signing_keys()`: `/api/v1/signing-keys` (operator) and the public JWKS.

use reqwest::Method;

use crate::client::Client;
use crate::error::Result;
use crate::model::{Data, Jwks, Page, SigningKey};

/// The server's token signing keys. Get one with [`Client::signing_keys`].
#[derive(Debug, Clone, Copy)]
pub struct SigningKeys<'c> {
    client: &'c Client,
}

impl<'c> SigningKeys<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Every signing key, current first (`GET /signing-keys`, master key): kid, status,
    /// created_at and, for a key rotated away, when it stops verifying. Empty when the
    /// server signs with HS256.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// for key in client.signing_keys().list().await? {
    ///     println!("{} {}", key.kid, key.status.as_str());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self) -> Result<Vec<SigningKey>> {
        let page: Page<SigningKey> = self
            .client
            .call(Method::GET, &["signing-keys"])
            .send()
            .await?
            .decode()?;
        Ok(page.data)
    }

    /// Makes a new current key (`POST /signing-keys/rotate`, master key). Tokens signed by
    /// the old one keep working until they expire; new ones carry the new `kid`.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let key = client.signing_keys().rotate().await?;
    /// println!("now signing with {}", key.kid);
    /// # Ok(()) }
    /// ```
    pub async fn rotate(&self) -> Result<SigningKey> {
        let created: Data<SigningKey> = self
            .client
            .call(Method::POST, &["signing-keys", "rotate"])
            .send()
            .await?
            .decode()?;
        Ok(created.data)
    }

    /// The public keys still verifying tokens (`GET /.well-known/jwks.json`, no
    /// credential). To verify tokens, use [`Verifier`](crate::tokens::Verifier).
    pub async fn jwks(&self) -> Result<Jwks> {
        self.client
            .call_under(&[".well-known"], Method::GET, &["jwks.json"])
            .unauthenticated()
            .send()
            .await?
            .decode()
    }
}
