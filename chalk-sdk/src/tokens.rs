//! Verifying Chalk tokens offline, from the server's public keys.
//!
//! A service that receives a Chalk token (a media server handed a participant token by a
//! browser, an internal service handed an access token) checks it with a [`Verifier`]:
//! the signature against the server's JWKS (`/.well-known/jwks.json`), the algorithm
//! (`EdDSA` only), the issuer and the expiry. No secret is needed.
//!
//! What an offline check cannot see is revocation: a token whose participant was removed,
//! whose room ended or whose API key was revoked still verifies here until its `exp`,
//! which is why Chalk's access and participant tokens are short-lived. Ask the server
//! (any authenticated request with the token) when that matters.
//!
//! ```no_run
//! use chalk_sdk::tokens::{TokenKind, Verifier};
//! # async fn run(token: &str) -> Result<(), chalk_sdk::tokens::VerifyError> {
//! let verifier = Verifier::new("https://chalk.example.com").await?;
//! let claims = verifier.verify(token).await?;
//! if claims.kind == TokenKind::Participant {
//!     println!("{:?} may join {:?} as {:?}", claims.participant_id, claims.room_id, claims.role);
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::client::Client;
use crate::model::{Jwks, ParticipantRole, Scope};

/// The `iss` of every Chalk token.
pub const ISSUER: &str = "chalk";

/// By default, an unknown `kid` makes the verifier fetch the JWKS again at most this often.
pub const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// Which kind of token was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenKind {
    /// A tenant access token (from `/auth/token` or `/auth/refresh`).
    Access,
    /// A participant's access token (from adding a participant to a room): valid only
    /// for its own room.
    Participant,
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claims {
    pub kind: TokenKind,
    /// The tenant the token acts for.
    pub tenant_id: String,
    /// The participant's room (participant tokens only).
    pub room_id: Option<String>,
    /// The participant (participant tokens only).
    pub participant_id: Option<String>,
    /// The participant's role when the token was minted (participant tokens only).
    pub role: Option<ParticipantRole>,
    /// The scopes of the API key that minted it (access tokens only).
    pub scopes: Vec<Scope>,
    /// The API key that minted it (access tokens only).
    pub key_id: Option<String>,
    /// The signing key, from the token's header.
    pub kid: String,
    /// The token's unique id (`jti`).
    pub token_id: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Well-formed and correctly signed, but past its `exp`.
    #[error("the token has expired")]
    Expired,
    /// Its `kid` is not among the server's keys (even after fetching them again, when
    /// allowed): signed by someone else, or by a key retired long ago.
    #[error("the token is signed by an unknown key ({0:?})")]
    UnknownKey(Option<String>),
    /// Anything else: not a JWT, another algorithm, a bad signature, the wrong issuer, a
    /// kind of token a service is never handed (a refresh token).
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The server's keys could not be fetched.
    #[error("could not fetch the signing keys: {0}")]
    Jwks(#[from] crate::error::Error),
}

/// The claims of every Chalk JWT kind, as signed.
#[derive(Deserialize)]
struct Wire {
    sub: String,
    typ: String,
    jti: String,
    iat: i64,
    exp: i64,
    // Access tokens.
    key_id: Option<String>,
    #[serde(default)]
    scope: String,
    // Participant tokens.
    tid: Option<String>,
    rid: Option<String>,
    role: Option<ParticipantRole>,
}

struct Keys {
    by_kid: HashMap<String, DecodingKey>,
    fetched_at: Instant,
}

/// Verifies Chalk tokens offline from the server's JWKS, fetched once and cached; a token
/// naming a key not in the cache makes it fetch again (at most once per refetch interval,
/// default a minute), so a rotation is picked up without a restart. Cheap to clone.
#[derive(Clone)]
pub struct Verifier {
    client: Client,
    keys: Arc<RwLock<Keys>>,
    refetch: Arc<tokio::sync::Mutex<()>>,
    refetch_interval: Duration,
    validation: Arc<Validation>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("server", &self.client.base_url())
            .field("refetch_interval", &self.refetch_interval)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for the server at `base_url` (e.g. `https://chalk.example.com`); fetches
    /// its JWKS now.
    pub async fn new(base_url: &str) -> Result<Self, VerifyError> {
        Self::with_refetch_interval(base_url, DEFAULT_REFETCH_INTERVAL).await
    }

    /// As [`new`](Self::new), fetching again on an unknown `kid` at most once per `interval`.
    pub async fn with_refetch_interval(
        base_url: &str,
        interval: Duration,
    ) -> Result<Self, VerifyError> {
        let client = Client::builder().base_url(base_url).build()?;
        Self::from_client(client, interval).await
    }

    /// A verifier fetching through `client` (its credential is not sent: the JWKS is
    /// public).
    pub async fn from_client(client: Client, interval: Duration) -> Result<Self, VerifyError> {
        let keys = fetch(&client).await?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 0;
        Ok(Self {
            client,
            keys: Arc::new(RwLock::new(keys)),
            refetch: Arc::new(tokio::sync::Mutex::new(())),
            refetch_interval: interval,
            validation: Arc::new(validation),
        })
    }

    /// The kids of the keys in the cache.
    pub fn known_kids(&self) -> Vec<String> {
        let keys = self.keys.read().expect("key cache lock poisoned");
        let mut kids: Vec<String> = keys.by_kid.keys().cloned().collect();
        kids.sort();
        kids
    }

    fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.keys
            .read()
            .expect("key cache lock poisoned")
            .by_kid
            .get(kid)
            .cloned()
    }

    /// Fetches the JWKS again unless that was done less than the refetch interval ago.
    async fn refetch(&self) -> Result<(), VerifyError> {
        let _one_at_a_time = self.refetch.lock().await;
        let fetched_at = self
            .keys
            .read()
            .expect("key cache lock poisoned")
            .fetched_at;
        if fetched_at.elapsed() < self.refetch_interval {
            return Ok(());
        }
        let keys = fetch(&self.client).await?;
        *self.keys.write().expect("key cache lock poisoned") = keys;
        Ok(())
    }

    /// The key `token`'s header names, fetching the JWKS again if needed (and allowed).
    async fn key_for(&self, token: &str) -> Result<(String, DecodingKey), VerifyError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| VerifyError::Invalid(format!("not a JWT: {e}")))?;
        if header.alg != Algorithm::EdDSA {
            return Err(VerifyError::Invalid(format!(
                "algorithm {:?} is not accepted, only EdDSA",
                header.alg
            )));
        }
        let kid = header.kid.ok_or(VerifyError::UnknownKey(None))?;
        let key = match self.key(&kid) {
            Some(key) => key,
            None => {
                self.refetch().await?;
                self.key(&kid)
                    .ok_or_else(|| VerifyError::UnknownKey(Some(kid.clone())))?
            }
        };
        Ok((kid, key))
    }

    /// Checks only the signature (EdDSA, by a key of the JWKS), whatever the token's kind,
    /// issuer or expiry: for tools that show a token (`chalk token inspect`). Returns the
    /// `kid`. Use [`verify`](Self::verify) to decide whether to accept a token.
    pub async fn verify_signature(&self, token: &str) -> Result<String, VerifyError> {
        let (kid, key) = self.key_for(token).await?;
        let mut signature_only = Validation::new(Algorithm::EdDSA);
        signature_only.validate_exp = false;
        signature_only.required_spec_claims.clear();
        jsonwebtoken::decode::<serde_json::Value>(token, &key, &signature_only)
            .map_err(|e| VerifyError::Invalid(e.to_string()))?;
        Ok(kid)
    }

    /// Verifies a participant token or a tenant access token: signature (EdDSA, by the key
    /// its `kid` names), issuer and expiry. Refresh tokens are refused.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let (kid, key) = self.key_for(token).await?;
        let wire = jsonwebtoken::decode::<Wire>(token, &key, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => VerifyError::Expired,
                _ => VerifyError::Invalid(e.to_string()),
            })?
            .claims;
        claims(wire, kid)
    }
}

fn claims(wire: Wire, kid: String) -> Result<Claims, VerifyError> {
    let time = |seconds: i64| {
        DateTime::from_timestamp(seconds, 0)
            .ok_or_else(|| VerifyError::Invalid(format!("timestamp {seconds} out of range")))
    };
    let missing = |what: &str| VerifyError::Invalid(format!("the token has no {what}"));
    let (kind, tenant_id, participant_id) = match wire.typ.as_str() {
        "access" => (TokenKind::Access, wire.sub, None),
        "participant" => (
            TokenKind::Participant,
            wire.tid.ok_or_else(|| missing("tenant"))?,
            Some(wire.sub),
        ),
        other => {
            return Err(VerifyError::Invalid(format!(
                "a {other:?} token is not an access or participant token"
            )));
        }
    };
    let scopes = wire
        .scope
        .split_whitespace()
        .map(|s| {
            s.parse::<Scope>()
                .map_err(|_| VerifyError::Invalid(format!("unknown scope {s:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if kind == TokenKind::Participant && (wire.rid.is_none() || wire.role.is_none()) {
        return Err(missing("room or role"));
    }
    Ok(Claims {
        kind,
        tenant_id,
        room_id: wire.rid,
        participant_id,
        role: wire.role,
        scopes,
        key_id: wire.key_id,
        kid,
        token_id: wire.jti,
        issued_at: time(wire.iat)?,
        expires_at: time(wire.exp)?,
    })
}

async fn fetch(client: &Client) -> Result<Keys, VerifyError> {
    let jwks: Jwks = client.signing_keys().jwks().await?;
    let mut by_kid = HashMap::new();
    for jwk in jwks.keys {
        // Only the keys Chalk publishes; anything else in the set is ignored.
        if jwk.kty != "OKP" || jwk.crv != "Ed25519" || jwk.alg != "EdDSA" {
            continue;
        }
        if let Ok(key) = DecodingKey::from_ed_components(&jwk.x) {
            by_kid.insert(jwk.kid, key);
        }
    }
    Ok(Keys {
        by_kid,
        fetched_at: Instant::now(),
    })
}
