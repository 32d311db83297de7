//! Tenants: the object, its usage counters, and the bodies that create and change it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::config::{ConfigPatch, TenantConfig};
use super::patch::Patch;
use crate::secret::SecretString;

/// Whether a tenant's credentials work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    /// The status as written on the wire (and accepted by `?status=`).
    ///
    /// ```
    /// assert_eq!(chalk_sdk::model::TenantStatus::Suspended.as_str(), "suspended");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
        }
    }
}

/// Live counters of what a tenant holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantUsage {
    pub active_rooms: i64,
    pub total_rooms: i64,
    pub active_participants: i64,
    pub api_keys: i64,
}

/// A tenant, with its config and usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    /// The operator's stable name for the tenant, unique when set; `null` when unset.
    pub external_id: Option<String>,
    pub status: TenantStatus,
    pub max_concurrent_rooms: i64,
    pub max_participants_per_room: i64,
    pub max_recording_duration_minutes: i64,
    pub rate_limit_per_minute: i64,
    pub config: TenantConfig,
    pub usage: TenantUsage,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A tenant just created: the tenant plus its primary API key, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedTenant {
    #[serde(flatten)]
    pub tenant: Tenant,
    /// The primary API key (`sk_live_…`). It is never shown again: store it now.
    pub api_key: SecretString,
    /// The id of that key, for `DELETE /tenants/{id}/api-keys/{key_id}` and logs.
    pub key_id: String,
}

/// `POST /tenants`. Quota fields need the master key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    /// 1..=200 characters after trimming.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: String,
    /// Contact email, unique across tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Stable name chosen by the operator, `[a-z0-9][a-z0-9._-]{0,62}`, unique; master key only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 63,
            pattern = r"^[a-z0-9][a-z0-9._-]{0,62}$"
        )
    )]
    pub external_id: Option<String>,
    /// 1..=100000, default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100000))]
    pub max_concurrent_rooms: Option<i64>,
    /// 1..=10000, default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10000))]
    pub max_participants_per_room: Option<i64>,
    /// 1..=1440, default 120.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1440))]
    pub max_recording_duration_minutes: Option<i64>,
    /// 1..=1000000, default the server's `CHALK_DEFAULT_RATE_LIMIT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000000))]
    pub rate_limit_per_minute: Option<i64>,
    /// Initial config, applied to the defaults as a merge patch (errors name `config.…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigPatch>,
}

impl CreateTenantRequest {
    /// A request with this name and every optional field left to the server's default;
    /// set more fields with struct update syntax.
    ///
    /// ```
    /// use chalk_sdk::model::CreateTenantRequest;
    /// let request = CreateTenantRequest {
    ///     email: Some("ops@acme.edu".into()),
    ///     external_id: Some("acme".into()),
    ///     ..CreateTenantRequest::new("Acme University")
    /// };
    /// assert_eq!(request.max_concurrent_rooms, None);
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// `PATCH /tenants/{id}`: only the fields present change. Quota fields and `status`
/// need the master key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateTenantRequest {
    // Only `email` and `external_id` may be `null` (removed); the server refuses `null`
    // for the others.
    /// 1..=200 characters after trimming.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: Option<String>,
    /// `null` removes the contact email.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub email: Patch<String>,
    /// `[a-z0-9][a-z0-9._-]{0,62}`, unique across tenants; `null` removes it. Master key only.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            value_type = Option<String>,
            min_length = 1,
            max_length = 63,
            pattern = r"^[a-z0-9][a-z0-9._-]{0,62}$"
        )
    )]
    pub external_id: Patch<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(nullable = false, minimum = 1, maximum = 100000)
    )]
    pub max_concurrent_rooms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(nullable = false, minimum = 1, maximum = 10000)
    )]
    pub max_participants_per_room: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(nullable = false, minimum = 1, maximum = 1440)
    )]
    pub max_recording_duration_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(nullable = false, minimum = 1, maximum = 1000000)
    )]
    pub rate_limit_per_minute: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub status: Option<TenantStatus>,
}

/// `DELETE` of a tenant or key: `{"id": "...", "deleted": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deleted {
    pub id: String,
    pub deleted: bool,
}

/// `POST /tenants/{id}/rotate-key` (the body is optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RotateKeyRequest {
    /// 0..=604800, default 0: how long the previous primary key keeps working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 604800))]
    pub expire_previous_in_seconds: Option<i64>,
}

/// The new primary key, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotatedKey {
    pub api_key: SecretString,
    pub key_id: String,
    /// When the previous primary key stops working; `null` when it stopped at once.
    pub previous_key_expires_at: Option<DateTime<Utc>>,
}

/// Query of `GET /tenants`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ListTenantsQuery {
    /// 1..=200, default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TenantStatus>,
    /// The tenant with this external id: a page of 0 or 1 tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        param(
            min_length = 1,
            max_length = 63,
            pattern = r"^[a-z0-9][a-z0-9._-]{0,62}$"
        )
    )]
    pub external_id: Option<String>,
}
