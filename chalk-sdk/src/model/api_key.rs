//! Scoped API keys.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::secret::SecretString;

/// What a key (and the tokens it mints) may do. `tenant:admin` implies `tenant:read`;
/// `rooms:write` implies `rooms:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    #[serde(rename = "tenant:read")]
    TenantRead,
    #[serde(rename = "tenant:admin")]
    TenantAdmin,
    #[serde(rename = "rooms:read")]
    RoomsRead,
    #[serde(rename = "rooms:write")]
    RoomsWrite,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::TenantRead,
        Scope::TenantAdmin,
        Scope::RoomsRead,
        Scope::RoomsWrite,
    ];

    /// The scope as written on the wire and in tokens.
    ///
    /// ```
    /// use chalk_sdk::model::Scope;
    /// assert_eq!(Scope::RoomsWrite.as_str(), "rooms:write");
    /// assert_eq!("tenant:read".parse::<Scope>(), Ok(Scope::TenantRead));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::TenantRead => "tenant:read",
            Scope::TenantAdmin => "tenant:admin",
            Scope::RoomsRead => "rooms:read",
            Scope::RoomsWrite => "rooms:write",
        }
    }

    /// Whether holding `self` grants `wanted`.
    ///
    /// ```
    /// use chalk_sdk::model::Scope;
    /// assert!(Scope::TenantAdmin.grants(Scope::TenantRead));
    /// assert!(!Scope::TenantRead.grants(Scope::TenantAdmin));
    /// assert!(!Scope::RoomsWrite.grants(Scope::TenantRead));
    /// ```
    pub fn grants(self, wanted: Scope) -> bool {
        self == wanted
            || matches!(
                (self, wanted),
                (Scope::TenantAdmin, Scope::TenantRead) | (Scope::RoomsWrite, Scope::RoomsRead)
            )
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| {
                format!("unknown scope `{s}`; expected one of tenant:read, tenant:admin, rooms:read, rooms:write")
            })
    }
}

/// `POST /tenants/{id}/api-keys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// 1..=100 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"\S")
    )]
    pub name: String,
    /// At least one scope.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub scopes: Vec<Scope>,
    /// When the key stops working; must be in the future.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key just created: its secret is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    pub api_key: SecretString,
    pub key_id: String,
    /// The first 12 characters of the key, to recognise it later.
    pub prefix: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub primary: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub primary: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Query of `GET /tenants/{id}/api-keys`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// 1..=200, default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}
