//! Operator keys (docs/api.md "Operator keys and audit log"): named credentials with the master
//! key's powers, sent in `X-Master-Key`, revoked one by one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::secret::SecretString;

/// `POST /operator-keys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateOperatorKeyRequest {
    /// Who holds it (a person or a system); 1..=100 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"\S")
    )]
    pub name: String,
    /// When the key stops working; must be in the future.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// An operator key just created: its secret (`ok_live_` + 32 base62) is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedOperatorKey {
    /// `op_…`.
    pub id: String,
    pub key: SecretString,
    pub name: String,
    /// The first 12 characters of the key, to recognise it later.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// `master`, or the id of the operator key that created it.
    pub created_by: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// An operator key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorKey {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// `master`, or the id of the operator key that created it.
    pub created_by: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}
