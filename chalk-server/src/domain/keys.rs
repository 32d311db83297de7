//! Scoped API keys (Raven): create, list, revoke. A tenant credential may only grant scopes
//! it holds itself.

use chalk_sdk::model::{CreateApiKeyRequest, CreatedApiKey, EventType};
use serde_json::{Value, json};

use super::audit::{self, AuditContext};
use crate::clock::{now, to_datetime};
use crate::crypto::{hash_secret, key_prefix, new_api_key, new_id};
use crate::domain::caller::Caller;
use crate::domain::validate::parse;
use crate::error::{ApiError, ApiResult};
use crate::store::{ApiKeyRow, Db, NewApiKey, RevokeKeyOutcome, keys};

use super::views;
use crate::domain::validate::Problems;

/// A key made ready before its transaction begins: the request validated and checked
/// against the caller's scopes, the secret generated and hashed — everything that does not
/// need the writer, so the writer holds only the creation's SQL (issue 24).
pub struct PreparedKey {
    key: NewApiKey,
    /// The key's secret, returned once in the answer.
    secret: String,
}

/// `POST /tenants/{id}/api-keys`, validated and prepared (see [`PreparedKey`]).
pub fn prepare_create(caller: &Caller, tenant_id: &str, body: Value) -> ApiResult<PreparedKey> {
    let request: CreateApiKeyRequest = parse(body)?;
    let at = now();
    let mut problems = Problems::default();
    let name = problems.text("name", &request.name, 1, 100);
    let mut scopes = request.scopes.clone();
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        problems.push("scopes", "must name at least one scope");
    }
    let expires_at = request.expires_at.map(|t| t.timestamp());
    if expires_at.is_some_and(|t| t <= at) {
        problems.push("expires_at", "must be in the future");
    }
    problems.finish()?;
    if let Caller::Tenant(t) = caller {
        let missing: Vec<&str> = scopes
            .iter()
            .filter(|s| !t.has(**s))
            .map(|s| s.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(ApiError::forbidden(format!(
                "A key cannot grant scopes its creator lacks: {}",
                missing.join(", ")
            )));
        }
    }
    let secret = new_api_key();
    let key = NewApiKey {
        id: new_id("key"),
        tenant_id: tenant_id.to_owned(),
        name,
        prefix: key_prefix(&secret),
        key_hash: hash_secret(&secret),
        scopes,
        primary: false,
        created_at: at,
        expires_at,
    };
    Ok(PreparedKey { key, secret })
}

/// Creates the prepared key of an existing tenant, with its audit entry and event, in
/// `db`'s transaction.
pub async fn create(
    db: &mut Db,
    ctx: &AuditContext,
    prepared: PreparedKey,
) -> ApiResult<CreatedApiKey> {
    let PreparedKey { key, secret } = prepared;
    let tenant_id = key.tenant_id.as_str();
    views::tenant_row(db, tenant_id).await?;
    let row = keys::create(db, &key).await?;
    let changes = audit::created(&json!({
        "name": row.name,
        "prefix": row.prefix,
        "scopes": row.scopes,
        "expires_at": row.expires_at.map(to_datetime),
    }));
    audit::record(
        db,
        ctx,
        "api_key.create",
        ("api_key", &row.id),
        Some(tenant_id),
        Some(changes),
    )
    .await?;
    super::events::record(
        db,
        tenant_id,
        EventType::ApiKeyCreated,
        views::api_key(&row),
    )
    .await?;
    Ok(CreatedApiKey {
        api_key: secret.into(),
        key_id: row.id.clone(),
        prefix: row.prefix.clone(),
        name: row.name.clone(),
        scopes: row.scopes.clone(),
        primary: row.primary,
        created_at: to_datetime(row.created_at),
        expires_at: row.expires_at.map(to_datetime),
    })
}

/// Keys that still work, `seq > after_seq`, oldest first.
pub async fn list(
    db: &mut Db,
    tenant_id: &str,
    after_seq: i64,
    limit: i64,
) -> ApiResult<Vec<ApiKeyRow>> {
    views::tenant_row(db, tenant_id).await?;
    Ok(keys::list(db, tenant_id, now(), after_seq, limit).await?)
}

pub async fn revoke(
    db: &mut Db,
    ctx: &AuditContext,
    tenant_id: &str,
    key_id: &str,
) -> ApiResult<()> {
    match keys::revoke(db, tenant_id, key_id, now()).await? {
        RevokeKeyOutcome::Revoked => {
            audit::record(
                db,
                ctx,
                "api_key.revoke",
                ("api_key", key_id),
                Some(tenant_id),
                None,
            )
            .await?;
            if let Some(revoked) = keys::by_id(db, key_id).await? {
                super::events::record(
                    db,
                    tenant_id,
                    EventType::ApiKeyRevoked,
                    views::api_key(&revoked.key),
                )
                .await?;
            }
            Ok(())
        }
        RevokeKeyOutcome::NotFound => Err(ApiError::not_found("API key")),
        RevokeKeyOutcome::IsPrimary => Err(ApiError::conflict(
            "The primary key cannot be revoked; replace it with POST /tenants/{id}/rotate-key",
        )),
    }
}
