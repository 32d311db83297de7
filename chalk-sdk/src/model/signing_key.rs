//! Token signing keys and the public JWKS (docs/api.md "Signing keys").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a signing key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SigningKeyStatus {
    /// Signs every new token.
    Current,
    /// Replaced by a rotation; still verifies the tokens it signed until `retires_at`.
    Previous,
    /// Verifies nothing any more.
    Retired,
}

impl SigningKeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningKeyStatus::Current => "current",
            SigningKeyStatus::Previous => "previous",
            SigningKeyStatus::Retired => "retired",
        }
    }
}

/// A signing key as `GET /signing-keys` lists it: never its private half.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SigningKey {
    /// The `kid` header of the tokens it signs.
    pub kid: String,
    /// `EdDSA`.
    pub algorithm: String,
    pub status: SigningKeyStatus,
    pub created_at: DateTime<Utc>,
    /// For a previous key: when it stops verifying (every token it signed has expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retires_at: Option<DateTime<Utc>>,
}

/// One public key of the JWKS (RFC 7517/8037: `kty` `OKP`, `crv` `Ed25519`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
    /// The 32-byte Ed25519 public key, base64url without padding.
    pub x: String,
}

/// `GET /.well-known/jwks.json` (not wrapped in `data`): every key still verifying.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}
