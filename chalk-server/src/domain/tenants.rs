//! Tenants: creation with a primary key, changes, deletion, key rotation, suspension.

use chalk_sdk::model::{
    ApiKeyRotatedData, CreateTenantRequest, CreatedTenant, EventType, FieldError, Patch,
    RotateKeyRequest, RotatedKey, Scope, Tenant, TenantStatus, TenantUsage, UpdateTenantRequest,
};
use serde_json::{Value, json};

use super::audit::{self, AuditContext, Changes};
use crate::clock::{now, to_datetime};
use crate::crypto::{hash_secret, key_prefix, new_api_key, new_id};
use crate::domain::caller::Caller;
use crate::domain::config::patch::apply_patch;
use crate::domain::core::Core;
use crate::domain::validate::parse;
use crate::domain::validate::{EXTERNAL_ID_RULE, Problems, is_external_id};
use crate::error::{ApiError, ApiResult};
use crate::store::stored_config::StoredConfig;
use crate::store::{
    CreateTenantOutcome, Db, NewApiKey, TenantChange, TenantFilter, TenantRow, UpdateOutcome, keys,
    tenants,
};

/// Quota fields: settable only with the master key.
const QUOTAS: [&str; 4] = [
    "max_concurrent_rooms",
    "max_participants_per_room",
    "max_recording_duration_minutes",
    "rate_limit_per_minute",
];

/// The tenant as the API shows it: config with secrets masked, live usage.
pub async fn view(db: &mut Db, row: &TenantRow) -> ApiResult<Tenant> {
    let usage = tenants::usage(db, &row.id, now()).await?;
    Ok(view_of(row, usage))
}

/// The API's view of a row and its usage.
pub fn view_of(row: &TenantRow, usage: TenantUsage) -> Tenant {
    Tenant {
        id: row.id.clone(),
        name: row.name.clone(),
        email: row.email.clone(),
        external_id: row.external_id.clone(),
        status: row.status,
        max_concurrent_rooms: row.max_concurrent_rooms,
        max_participants_per_room: row.max_participants_per_room,
        max_recording_duration_minutes: row.max_recording_duration_minutes,
        rate_limit_per_minute: row.rate_limit_per_minute,
        config: row.config.to_wire(),
        usage,
        created_at: to_datetime(row.created_at),
        updated_at: to_datetime(row.updated_at),
    }
}

/// What the audit log compares of a tenant: its fields and its config as stored (secrets
/// sealed; `audit::diff` shows them only as "changed").
fn audited(row: &TenantRow) -> Value {
    json!({
        "name": row.name,
        "email": row.email,
        "external_id": row.external_id,
        "status": row.status,
        "max_concurrent_rooms": row.max_concurrent_rooms,
        "max_participants_per_room": row.max_participants_per_room,
        "max_recording_duration_minutes": row.max_recording_duration_minutes,
        "rate_limit_per_minute": row.rate_limit_per_minute,
        "config": row.config,
    })
}

/// The audited difference between two states of a tenant.
pub fn changes(before: Option<&TenantRow>, after: &TenantRow) -> Changes {
    let mut before = before.map_or(Value::Null, audited);
    if before.is_null() {
        // A new tenant's config shows only what differs from the defaults.
        before = json!({"config": StoredConfig::default()});
    }
    audit::diff(&before, &audited(after))
}

fn email_taken() -> ApiError {
    ApiError::conflict("A tenant with this email already exists")
        .with_details(vec![FieldError::new("email", "is already taken")])
}

fn external_id_taken() -> ApiError {
    ApiError::conflict("A tenant with this external_id already exists")
        .with_details(vec![FieldError::new("external_id", "is already taken")])
}

/// 403 for a caller other than the master key who sent operator-only fields, naming each
/// in the message and in `details`.
fn require_master_for(caller: &Caller, fields: &[&str]) -> ApiResult<()> {
    if fields.is_empty() || caller.is_operator() {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "These fields need the master key: {}",
        fields.join(", ")
    ))
    .with_details(
        fields
            .iter()
            .map(|field| FieldError::new(*field, "needs the master key"))
            .collect(),
    ))
}

/// The primary key a tenant gets at creation and from rotate-key: every scope.
fn new_primary_key(tenant_id: &str, at: i64) -> (String, NewApiKey) {
    let secret = new_api_key();
    let key = NewApiKey {
        id: new_id("key"),
        tenant_id: tenant_id.to_owned(),
        name: "primary".to_owned(),
        prefix: key_prefix(&secret),
        key_hash: hash_secret(&secret),
        scopes: Scope::ALL.to_vec(),
        primary: true,
        created_at: at,
        expires_at: None,
    };
    (secret, key)
}

/// The quota limits of docs/api.md, checked on create and update alike.
fn check_quotas(problems: &mut Problems, values: [Option<i64>; 4]) {
    const LIMITS: [i64; 4] = [100_000, 10_000, 1440, 1_000_000];
    for ((field, value), hi) in QUOTAS.into_iter().zip(values).zip(LIMITS) {
        problems.range(field, value, 1, hi);
    }
}

fn present(values: [Option<i64>; 4]) -> Vec<&'static str> {
    QUOTAS
        .into_iter()
        .zip(values)
        .filter(|(_, v)| v.is_some())
        .map(|(name, _)| name)
        .collect()
}

/// The filter of `GET /tenants`. An external id no tenant could hold is a typo, not "no
/// such tenant": it is refused rather than answered with an empty page a script would take
/// for "create it".
pub fn list_filter(
    status: Option<TenantStatus>,
    external_id: Option<String>,
) -> ApiResult<TenantFilter> {
    if let Some(external_id) = external_id.as_deref()
        && !is_external_id(external_id)
    {
        return Err(ApiError::invalid_field("external_id", EXTERNAL_ID_RULE));
    }
    Ok(TenantFilter {
        status,
        external_id,
    })
}

/// A tenant made ready before its transaction begins: the request validated, its config
/// sealed, its ids chosen and its primary key generated and hashed — everything that does
/// not need the writer, so the writer holds only the creation's SQL (issue 24).
pub struct PreparedTenant {
    row: TenantRow,
    key: NewApiKey,
    /// The primary key's secret, returned once in the answer.
    secret: String,
}

/// `POST /tenants`, validated and prepared (see [`PreparedTenant`]). The caller may create
/// tenants (checked by the route); quota fields need the master key.
pub fn prepare_create(core: &Core, caller: &Caller, mut body: Value) -> ApiResult<PreparedTenant> {
    // The config is validated by the config module, which reports every bad field.
    let config_patch = body.as_object_mut().and_then(|o| o.remove("config"));
    let request: CreateTenantRequest = parse(body)?;
    let quotas = [
        request.max_concurrent_rooms,
        request.max_participants_per_room,
        request.max_recording_duration_minutes,
        request.rate_limit_per_minute,
    ];
    let mut privileged = present(quotas);
    // The external id is the operator's name for a tenant: a self-registered tenant
    // choosing its own could squat on the name a provisioning file is about to claim.
    if request.external_id.is_some() {
        privileged.push("external_id");
    }
    require_master_for(caller, &privileged)?;
    let mut problems = Problems::default();
    let name = problems.text("name", &request.name, 1, 200);
    let external_id = request
        .external_id
        .as_deref()
        .map(|e| problems.external_id("external_id", e));
    let email = request.email.as_deref().map(|e| problems.email("email", e));
    check_quotas(&mut problems, quotas);
    let config = match config_patch {
        None | Some(Value::Null) => StoredConfig::default(),
        Some(patch) => {
            match apply_patch(
                &StoredConfig::default(),
                &patch,
                "config.",
                &core.sealer,
                core.policy.webhook_targets,
            ) {
                Ok(config) => config,
                Err(errors) => {
                    problems.extend(errors);
                    StoredConfig::default()
                }
            }
        }
    };
    problems.finish()?;

    let at = now();
    let id = new_id("tenant");
    let (secret, key) = new_primary_key(&id, at);
    let row = TenantRow {
        seq: 0,
        id,
        name,
        email,
        external_id,
        status: TenantStatus::Active,
        max_concurrent_rooms: request.max_concurrent_rooms.unwrap_or(100),
        max_participants_per_room: request.max_participants_per_room.unwrap_or(10),
        max_recording_duration_minutes: request.max_recording_duration_minutes.unwrap_or(120),
        rate_limit_per_minute: request
            .rate_limit_per_minute
            .unwrap_or(core.policy.default_rate_limit),
        config,
        revision: 1,
        created_at: at,
        updated_at: at,
    };
    Ok(PreparedTenant { row, key, secret })
}

/// Creates the prepared tenant with its primary key, and its audit entry, in `db`'s
/// transaction.
pub async fn create(
    db: &mut Db,
    ctx: &AuditContext,
    prepared: PreparedTenant,
) -> ApiResult<CreatedTenant> {
    let PreparedTenant { row, key, secret } = prepared;
    let row = match tenants::create(db, &row, &key).await? {
        CreateTenantOutcome::Created(row) => row,
        CreateTenantOutcome::EmailTaken => return Err(email_taken()),
        CreateTenantOutcome::ExternalIdTaken => return Err(external_id_taken()),
    };
    let changes = changes(None, &row);
    audit::record(
        db,
        ctx,
        "tenant.create",
        ("tenant", &row.id),
        Some(&row.id),
        Some(changes),
    )
    .await?;
    // A tenant created a moment ago holds its primary key and nothing else: no read of
    // the writer needed to say so.
    let usage = TenantUsage {
        api_keys: 1,
        ..TenantUsage::default()
    };
    Ok(CreatedTenant {
        tenant: view_of(&row, usage),
        api_key: secret.into(),
        key_id: key.id,
    })
}

/// `PATCH /tenants/{id}`: only the fields present change. Quotas and status need the
/// master key.
pub async fn update(
    db: &mut Db,
    caller: &Caller,
    ctx: &AuditContext,
    id: &str,
    expected_revision: Option<i64>,
    body: Value,
) -> ApiResult<TenantRow> {
    // Only `email` and `external_id` can be removed; `null` for anything else would be
    // silently ignored by the typed request, so it is refused here, all fields at once.
    let nulls: Vec<FieldError> = body
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(field, value)| {
            value.is_null()
                && (field.as_str() == "name"
                    || field.as_str() == "status"
                    || QUOTAS.contains(&field.as_str()))
        })
        .map(|(field, _)| FieldError::new(field.as_str(), "cannot be null; give a value"))
        .collect();
    if !nulls.is_empty() {
        return Err(ApiError::validation(nulls));
    }
    let request: UpdateTenantRequest = parse(body)?;
    let quotas = [
        request.max_concurrent_rooms,
        request.max_participants_per_room,
        request.max_recording_duration_minutes,
        request.rate_limit_per_minute,
    ];
    let mut privileged = present(quotas);
    if request.status.is_some() {
        privileged.push("status");
    }
    // Setting and clearing alike: the name belongs to the operator's provisioning, and a
    // tenant renaming itself would make the next `chalk apply` create a second tenant.
    if !request.external_id.is_absent() {
        privileged.push("external_id");
    }
    require_master_for(caller, &privileged)?;
    let mut problems = Problems::default();
    let name = request
        .name
        .as_deref()
        .map(|n| problems.text("name", n, 1, 200));
    let email = match &request.email {
        Patch::Absent => None,
        Patch::Reset => Some(None),
        Patch::Set(e) => Some(Some(problems.email("email", e))),
    };
    let external_id = match &request.external_id {
        Patch::Absent => None,
        Patch::Reset => Some(None),
        Patch::Set(e) => Some(Some(problems.external_id("external_id", e))),
    };
    check_quotas(&mut problems, quotas);
    problems.finish()?;
    let change = TenantChange {
        name,
        email,
        external_id,
        max_concurrent_rooms: request.max_concurrent_rooms,
        max_participants_per_room: request.max_participants_per_room,
        max_recording_duration_minutes: request.max_recording_duration_minutes,
        rate_limit_per_minute: request.rate_limit_per_minute,
        status: request.status,
        config: None,
    };
    if change == TenantChange::default() {
        return apply_change(db, id, expected_revision, change).await;
    }
    let before = tenants::lock(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Tenant"))?;
    let row = apply_audited(db, ctx, "tenant.update", &before, expected_revision, change).await?;
    let view = view(db, &row).await?;
    super::events::record(db, id, EventType::TenantUpdated, &view).await?;
    record_status_change(db, before.status, &view).await?;
    Ok(row)
}

/// [`apply_change`] to the tenant as it was (`before`, locked by the caller), recorded in
/// the audit log as `action` when something changed.
pub async fn apply_audited(
    db: &mut Db,
    ctx: &AuditContext,
    action: &str,
    before: &TenantRow,
    expected_revision: Option<i64>,
    change: TenantChange,
) -> ApiResult<TenantRow> {
    let id = before.id.as_str();
    let after = apply_change(db, id, expected_revision, change).await?;
    let changes = changes(Some(before), &after);
    if !changes.is_empty() {
        audit::record(db, ctx, action, ("tenant", id), Some(id), Some(changes)).await?;
    }
    Ok(after)
}

/// `tenant.suspended` or `tenant.resumed`, when the status changed from `before`.
async fn record_status_change(db: &mut Db, before: TenantStatus, tenant: &Tenant) -> ApiResult<()> {
    let kind = match (before, tenant.status) {
        (TenantStatus::Active, TenantStatus::Suspended) => EventType::TenantSuspended,
        (TenantStatus::Suspended, TenantStatus::Active) => EventType::TenantResumed,
        _ => return Ok(()),
    };
    super::events::record(db, &tenant.id, kind, tenant)
        .await
        .map(drop)
}

/// Writes `change`, mapping the store's outcomes to the contract's errors. An empty change
/// writes nothing (the revision, and so the ETag, stays).
pub async fn apply_change(
    db: &mut Db,
    id: &str,
    expected_revision: Option<i64>,
    change: TenantChange,
) -> ApiResult<TenantRow> {
    if change == TenantChange::default() {
        let row = super::views::tenant_row(db, id).await?;
        if expected_revision.is_some_and(|r| r != row.revision) {
            return Err(ApiError::precondition_failed());
        }
        return Ok(row);
    }
    match tenants::update(db, id, expected_revision, change, now()).await? {
        UpdateOutcome::Updated(row) => Ok(*row),
        UpdateOutcome::NotFound => Err(ApiError::not_found("Tenant")),
        UpdateOutcome::Stale => Err(ApiError::precondition_failed()),
        UpdateOutcome::EmailTaken => Err(email_taken()),
        UpdateOutcome::ExternalIdTaken => Err(external_id_taken()),
    }
}

/// Deletes the tenant and everything it owns.
pub async fn delete(db: &mut Db, ctx: &AuditContext, id: &str) -> ApiResult<()> {
    // Its usage history stays (billing needs it) until `DELETE /tenants/{id}/usage`.
    crate::store::usage::close(db, id, crate::clock::now()).await?;
    if tenants::delete(db, id).await? {
        audit::record(db, ctx, "tenant.delete", ("tenant", id), Some(id), None).await?;
        Ok(())
    } else {
        Err(ApiError::not_found("Tenant"))
    }
}

/// Suspends or resumes (master key only).
pub async fn set_status(
    db: &mut Db,
    caller: &Caller,
    ctx: &AuditContext,
    id: &str,
    status: TenantStatus,
) -> ApiResult<TenantRow> {
    caller.require_master()?;
    let before = tenants::lock(db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Tenant"))?;
    let change = TenantChange {
        status: Some(status),
        ..TenantChange::default()
    };
    let action = match status {
        TenantStatus::Suspended => "tenant.suspend",
        TenantStatus::Active => "tenant.resume",
    };
    let row = apply_audited(db, ctx, action, &before, None, change).await?;
    if before.status != row.status {
        let view = view(db, &row).await?;
        record_status_change(db, before.status, &view).await?;
    }
    Ok(row)
}

/// Proof that the caller may rotate a tenant's primary key, from [`authorize_rotation`];
/// [`rotate_key`] takes it, so no path rotates without the check.
#[derive(Debug)]
pub struct MayRotate(());

/// Whether `caller` may rotate tenant `id`'s primary key, checked against what the store
/// holds, with the tenant's row locked for the rest of the transaction. Only the master
/// key or a key holding every scope (the primary key) may rotate: an extra `tenant:admin`
/// key must not mint itself a key with more scopes. The calling key must still be the
/// current primary once the row is locked, so of concurrent rotations authenticated by
/// the key being rotated away, one rotates and the others are refused (401) as holding
/// the revoked credential they now hold.
///
/// It depends on the store, not only on the credential, so an idempotent replay runs it
/// again (`idempotency::run_authorized`): a key rotated away but still inside its grace
/// period must not read its successor's secret back from the first response.
pub async fn authorize_rotation(db: &mut Db, caller: &Caller, id: &str) -> ApiResult<MayRotate> {
    if let Caller::Tenant(tenant) = caller
        && !Scope::ALL.iter().all(|s| tenant.has(*s))
    {
        return Err(ApiError::forbidden(
            "rotate-key needs the master key or the tenant's primary key (every scope)",
        ));
    }
    if tenants::lock(db, id).await?.is_none() {
        return Err(ApiError::not_found("Tenant"));
    }
    if let Caller::Tenant(tenant) = caller {
        let at = now();
        match keys::by_id(db, &tenant.key_id).await? {
            Some(auth) if auth.key.is_valid_at(at) && auth.key.primary => {}
            Some(auth) if auth.key.is_valid_at(at) => {
                return Err(ApiError::forbidden(
                    "rotate-key needs the master key or the tenant's current primary key",
                ));
            }
            _ => {
                return Err(ApiError::unauthorized(
                    "This credential was rotated away by a concurrent request",
                ));
            }
        }
    }
    Ok(MayRotate(()))
}

/// A new primary key, for a caller [`authorize_rotation`] let through in this transaction.
pub async fn rotate_key(
    db: &mut Db,
    _: MayRotate,
    ctx: &AuditContext,
    id: &str,
    body: Option<Value>,
) -> ApiResult<RotatedKey> {
    let request: RotateKeyRequest = match body {
        None | Some(Value::Null) => RotateKeyRequest::default(),
        Some(body) => parse(body)?,
    };
    let grace = request.expire_previous_in_seconds.unwrap_or(0);
    let mut problems = Problems::default();
    problems.range("expire_previous_in_seconds", Some(grace), 0, 604_800);
    problems.finish()?;
    let at = now();
    let previous_expires_at = (grace > 0).then_some(at + grace);
    let (secret, key) = new_primary_key(id, at);
    if !keys::rotate_primary(db, &key, previous_expires_at, at).await? {
        return Err(ApiError::not_found("Tenant"));
    }
    let changes = audit::created(&json!({
        "api_key": "new",
        "primary": true,
        "previous_key_expires_at": previous_expires_at.map(to_datetime),
    }));
    audit::record(
        db,
        ctx,
        "api_key.rotate",
        ("api_key", &key.id),
        Some(id),
        Some(changes),
    )
    .await?;
    let rotated = keys::by_id(db, &key.id)
        .await?
        .ok_or_else(|| ApiError::internal("rotated key vanished"))?;
    let data = ApiKeyRotatedData {
        api_key: super::views::api_key(&rotated.key),
        previous_key_expires_at: previous_expires_at.map(to_datetime),
    };
    super::events::record(db, id, EventType::ApiKeyRotated, data).await?;
    Ok(RotatedKey {
        api_key: secret.into(),
        key_id: key.id,
        previous_key_expires_at: previous_expires_at.map(to_datetime),
    })
}
