//! Operator keys: create (the secret shown once), list, revoke. Any operator credential may
//! manage them, but none may revoke the key it is using (409), so nobody locks everyone out
//! by accident; the master key itself changes only with `CHALK_MASTER_KEY`.

use chalk_sdk::model::{CreateOperatorKeyRequest, CreatedOperatorKey, OperatorKey};
use serde_json::{Value, json};

use super::audit::{self, AuditContext};
use crate::clock::{now, to_datetime};
use crate::crypto::{hash_secret, key_prefix, new_id, new_operator_key};
use crate::domain::caller::Caller;
use crate::domain::validate::Problems;
use crate::domain::validate::parse;
use crate::error::{ApiError, ApiResult};
use crate::store::Db;
use crate::store::operator_keys::{self, NewOperatorKey, OperatorKeyRow};

pub fn view(row: &OperatorKeyRow) -> OperatorKey {
    OperatorKey {
        id: row.id.clone(),
        name: row.name.clone(),
        prefix: row.prefix.clone(),
        created_at: to_datetime(row.created_at),
        created_by: row.created_by.clone(),
        last_used_at: row.last_used_at.map(to_datetime),
        expires_at: row.expires_at.map(to_datetime),
    }
}

/// `master`, or the operator key's id: what `created_by` records.
fn creator(caller: &Caller) -> ApiResult<String> {
    match caller {
        Caller::Master => Ok("master".to_owned()),
        Caller::Operator(o) => Ok(o.id.clone()),
        _ => Err(ApiError::forbidden("This operation needs the master key")),
    }
}

pub async fn create(
    db: &mut Db,
    caller: &Caller,
    ctx: &AuditContext,
    body: Value,
) -> ApiResult<CreatedOperatorKey> {
    let created_by = creator(caller)?;
    let request: CreateOperatorKeyRequest = parse(body)?;
    let at = now();
    let mut problems = Problems::default();
    let name = problems.text("name", &request.name, 1, 100);
    let expires_at = request.expires_at.map(|t| t.timestamp());
    if expires_at.is_some_and(|t| t <= at) {
        problems.push("expires_at", "must be in the future");
    }
    problems.finish()?;
    let secret = new_operator_key();
    let row = operator_keys::create(
        db,
        &NewOperatorKey {
            id: new_id("op"),
            name,
            prefix: key_prefix(&secret),
            key_hash: hash_secret(&secret),
            created_at: at,
            created_by,
            expires_at,
        },
    )
    .await?;
    let changes = audit::created(&json!({
        "name": row.name,
        "prefix": row.prefix,
        "expires_at": row.expires_at.map(to_datetime),
    }));
    audit::record(
        db,
        ctx,
        "operator_key.create",
        ("operator_key", &row.id),
        None,
        Some(changes),
    )
    .await?;
    Ok(CreatedOperatorKey {
        id: row.id.clone(),
        key: secret.into(),
        name: row.name.clone(),
        prefix: row.prefix.clone(),
        created_at: to_datetime(row.created_at),
        created_by: row.created_by.clone(),
        expires_at: row.expires_at.map(to_datetime),
    })
}

/// Keys that still work, `seq > after_seq`, oldest first.
pub async fn list(db: &mut Db, after_seq: i64, limit: i64) -> ApiResult<Vec<OperatorKeyRow>> {
    Ok(operator_keys::list(db, now(), after_seq, limit).await?)
}

pub async fn revoke(db: &mut Db, caller: &Caller, ctx: &AuditContext, id: &str) -> ApiResult<()> {
    creator(caller)?;
    if let Caller::Operator(o) = caller
        && o.id == id
    {
        return Err(ApiError::conflict(
            "An operator key cannot revoke itself; use another operator credential",
        ));
    }
    if operator_keys::revoke(db, id, now()).await?.is_none() {
        return Err(ApiError::not_found("Operator key"));
    }
    audit::record(
        db,
        ctx,
        "operator_key.revoke",
        ("operator_key", id),
        None,
        None,
    )
    .await?;
    Ok(())
}
