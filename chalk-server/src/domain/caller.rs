//! Who is calling, as the rules see it: the master key, an operator key, a tenant's
//! credential with its scopes, a participant token, or no one — and the checks each
//! operation makes of it. `http/credentials.rs` resolves a request's credential into a
//! [`Caller`]; the rules here never look at HTTP.

use chalk_sdk::model::{Actor, ActorType, ParticipantRole, Scope};

use crate::error::ApiError;
use crate::store::KeyAuth;

/// How a tenant proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantCredential {
    ApiKey,
    AccessToken,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCaller {
    pub tenant_id: String,
    pub key_id: String,
    /// The key's name, for the audit log.
    pub key_name: String,
    pub scopes: Vec<Scope>,
    pub credential: TenantCredential,
    /// The tenant's `rate_limit_per_minute`, read with the credential.
    pub rate_limit_per_minute: i64,
}

impl TenantCaller {
    pub fn has(&self, wanted: Scope) -> bool {
        self.scopes.iter().any(|s| s.grants(wanted))
    }
}

/// A participant token's holder: it may read its own room, and a host may also end it
/// and remove its participants. Checked against the store on every request, so removal,
/// replacement, a refresh or the room's end kill the token at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantCaller {
    pub tenant_id: String,
    pub room_id: String,
    pub participant_id: String,
    pub role: ParticipantRole,
    pub rate_limit_per_minute: i64,
}

/// An operator key's holder: the master key's powers, under its own name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorCaller {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Master,
    Operator(OperatorCaller),
    Tenant(TenantCaller),
    Participant(ParticipantCaller),
    Anonymous,
}

/// A participant token used where a tenant credential is needed.
pub fn participant_token_refused() -> ApiError {
    ApiError::forbidden(
        "A participant token is valid only for its own room (GET /rooms/{id}; hosts also end it and remove participants)",
    )
}

fn missing_credentials() -> ApiError {
    ApiError::unauthorized(
        "Missing credentials: send X-Master-Key, X-API-Key or Authorization: Bearer <token>",
    )
}

impl Caller {
    /// The master key, or the tenant `tenant_id` itself holding `scope`. Another tenant's
    /// id is 404, exactly as if it did not exist.
    pub fn require_tenant(&self, tenant_id: &str, scope: Scope) -> Result<(), ApiError> {
        match self {
            Caller::Master | Caller::Operator(_) => Ok(()),
            Caller::Tenant(t) if t.tenant_id != tenant_id => Err(ApiError::not_found("Tenant")),
            Caller::Tenant(t) if t.has(scope) => Ok(()),
            Caller::Tenant(_) => Err(ApiError::forbidden(format!(
                "This credential lacks the {scope} scope"
            ))),
            Caller::Participant(_) => Err(participant_token_refused()),
            Caller::Anonymous => Err(missing_credentials()),
        }
    }

    pub fn require_master(&self) -> Result<(), ApiError> {
        match self {
            Caller::Master | Caller::Operator(_) => Ok(()),
            Caller::Tenant(_) | Caller::Participant(_) => {
                Err(ApiError::forbidden("This operation needs the master key"))
            }
            Caller::Anonymous => Err(missing_credentials()),
        }
    }

    /// Any tenant credential (for `GET /tenant`).
    pub fn require_any_tenant(&self) -> Result<&TenantCaller, ApiError> {
        match self {
            Caller::Tenant(t) => Ok(t),
            Caller::Master | Caller::Operator(_) => Err(ApiError::invalid_request(
                "GET /tenant describes the calling tenant; the master key has none. Use GET /tenants/{id}",
            )),
            Caller::Participant(_) => Err(participant_token_refused()),
            Caller::Anonymous => Err(missing_credentials()),
        }
    }

    /// Who this is for idempotency records: the same key from another caller is another request.
    pub fn idempotency_scope(&self) -> String {
        match self {
            Caller::Master => "master".to_owned(),
            Caller::Operator(o) => format!("operator:{}", o.id),
            // Per credential, not per tenant: another key of the tenant (with other scopes)
            // must not replay this one's response and the secret in it.
            Caller::Tenant(t) => format!("key:{}", t.key_id),
            Caller::Participant(p) => format!("participant:{}", p.participant_id),
            Caller::Anonymous => "anonymous".to_owned(),
        }
    }

    /// The master key or an operator key: the operator's powers.
    pub fn is_operator(&self) -> bool {
        matches!(self, Caller::Master | Caller::Operator(_))
    }

    /// Who this is, as the audit log names it.
    pub fn actor(&self) -> Actor {
        let (kind, id, name) = match self {
            Caller::Master => (ActorType::Master, None, None),
            Caller::Operator(o) => (ActorType::Operator, Some(&o.id), Some(&o.name)),
            Caller::Tenant(t) => (
                match t.credential {
                    TenantCredential::ApiKey => ActorType::ApiKey,
                    TenantCredential::AccessToken => ActorType::AccessToken,
                },
                Some(&t.key_id),
                Some(&t.key_name),
            ),
            Caller::Participant(p) => (ActorType::Participant, Some(&p.participant_id), None),
            Caller::Anonymous => (ActorType::Anonymous, None, None),
        };
        Actor {
            kind,
            id: id.cloned(),
            name: name.cloned(),
        }
    }

    pub fn tenant_id(&self) -> Option<&str> {
        match self {
            Caller::Tenant(t) => Some(&t.tenant_id),
            Caller::Participant(p) => Some(&p.tenant_id),
            _ => None,
        }
    }
}

/// The caller a checked key (or a token minted from it) acts as.
pub fn tenant_caller(auth: &KeyAuth, credential: TenantCredential) -> Caller {
    Caller::Tenant(TenantCaller {
        tenant_id: auth.key.tenant_id.clone(),
        key_id: auth.key.id.clone(),
        key_name: auth.key.name.clone(),
        scopes: auth.key.scopes.clone(),
        credential,
        rate_limit_per_minute: auth.rate_limit_per_minute,
    })
}
