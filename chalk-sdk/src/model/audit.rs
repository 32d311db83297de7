//! The append-only audit log (docs/api.md "Operator keys and audit log").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What kind of credential made a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActorType {
    Master,
    Operator,
    ApiKey,
    AccessToken,
    Participant,
    Anonymous,
}

impl ActorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::Master => "master",
            ActorType::Operator => "operator",
            ActorType::ApiKey => "api_key",
            ActorType::AccessToken => "access_token",
            ActorType::Participant => "participant",
            ActorType::Anonymous => "anonymous",
        }
    }
}

impl std::str::FromStr for ActorType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            ActorType::Master,
            ActorType::Operator,
            ActorType::ApiKey,
            ActorType::AccessToken,
            ActorType::Participant,
            ActorType::Anonymous,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
        .ok_or_else(|| format!("unknown actor type {s:?}"))
    }
}

/// Who made a change: the credential's kind, and its id and name where it has them (an
/// operator key's `op_…` and name, an API key's `key_…` and name, a participant's id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    #[serde(rename = "type")]
    pub kind: ActorType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What a change was made to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditTarget {
    /// `tenant`, `config`, `api_key`, `room`, `participant`, `operator_key`, `signing_key`,
    /// `webhook_endpoint`, or `request` for a refused attempt.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// `succeeded` for a change that was made, `denied` for a refused attempt that carried a
/// credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Succeeded,
    Denied,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Succeeded => "succeeded",
            AuditOutcome::Denied => "denied",
        }
    }
}

/// One entry of the audit log. Secrets never appear in it: a secret that changed shows
/// `"changed"` in `changes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// `aud_…`.
    pub id: String,
    pub at: DateTime<Utc>,
    /// The `X-Request-Id` of the response to the request that made the change.
    pub request_id: String,
    pub actor: Actor,
    /// `tenant.create`, `tenant.update`, `config.update`, `api_key.create`, … (the
    /// resource, a dot, the verb).
    pub action: String,
    pub outcome: AuditOutcome,
    pub target: AuditTarget,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Field-level changes, `{"field": {"from", "to"}}` (dotted paths for nested fields);
    /// a secret shows only `"changed"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub changes: Option<Map<String, Value>>,
    /// On a denied entry, how many refusals it stands for: the server writes at most one
    /// denial entry per credential and reason a minute, counting the refusals it held back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// The client's address as the server saw it (`unknown` without one).
    pub client_ip: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// Query of `GET /audit-events` and `GET /tenants/{id}/audit-events`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ListAuditEventsQuery {
    /// Only entries about this tenant (operator view only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Only entries made by this credential (`op_…`, `key_…`, `part_…`, or `master`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// Only this action, e.g. `tenant.update`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Entries at or after this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Entries before this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// 1..=200, default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 200))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}
