//! Webhook endpoints (docs/api.md "Webhooks"): create (the secret shown once), list, get,
//! update, delete, rotate the secret (the previous one keeps signing for an overlap), and
//! send a test event.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chalk_sdk::model::fingerprint;
use chalk_sdk::model::{
    CreateWebhookEndpointRequest, CreatedWebhookEndpoint, EventType, Patch,
    RotateWebhookSecretRequest, RotatedWebhookSecret, UpdateWebhookEndpointRequest,
    WebhookEndpoint, WebhookTestData, WebhookTestResult,
};
use rand::Rng;
use serde_json::{Value, json};

use super::audit::{self, AuditContext};
use crate::clock::{now, to_datetime};
use crate::crypto::{Sealer, new_id};
use crate::domain::core::Core;
use crate::domain::validate::Problems;
use crate::domain::validate::parse;
use crate::error::{ApiError, ApiResult};
use crate::store::Db;
use crate::store::webhooks::{self, CreateEndpointOutcome, EndpointRow, MAX_ENDPOINTS};

/// Standard Webhooks: `whsec_` + base64 of the key bytes.
pub const SECRET_PREFIX: &str = "whsec_";
const SECRET_BYTES: usize = 32;
/// How long a rotated-away secret keeps signing when the request does not say.
const DEFAULT_OVERLAP_SECONDS: i64 = 86_400;
const MAX_OVERLAP_SECONDS: i64 = 604_800;
const MAX_DESCRIPTION_CHARS: usize = 500;

/// The endpoint as responses show it. The secret is opened only to fingerprint it (see
/// `chalk_sdk::model::fingerprint`), salted with the endpoint's id (unique to it): a provisioning
/// client tells a rotated secret from the one it holds without the secret being returned.
pub fn view(row: &EndpointRow, sealer: &Sealer) -> WebhookEndpoint {
    WebhookEndpoint {
        secret_fingerprint: sealer
            .open_str(&row.secret)
            .ok()
            .map(|secret| fingerprint::compute(row.id.as_bytes(), &secret)),
        ..audited(row)
    }
}

/// The endpoint as the audit log records it: without the fingerprint, since a secret's
/// change is recorded only as `"changed"`.
fn audited(row: &EndpointRow) -> WebhookEndpoint {
    let at = now();
    WebhookEndpoint {
        id: row.id.clone(),
        url: row.url.clone(),
        events: row.events.clone(),
        description: row.description.clone(),
        enabled: row.enabled,
        previous_secret_expires_at: row
            .previous_secret_expires_at
            .filter(|until| *until > at)
            .map(to_datetime),
        secret_fingerprint: None,
        created_at: to_datetime(row.created_at),
        updated_at: to_datetime(row.updated_at),
    }
}

/// A fresh endpoint secret.
fn new_secret() -> String {
    let bytes: [u8; SECRET_BYTES] = rand::rng().random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// Known event types, or `*` alone; duplicates removed, order kept.
fn events(problems: &mut Problems, field: &str, events: &[String]) -> Vec<String> {
    if events.is_empty() {
        problems.push(field, "must name at least one event type, or \"*\" for all");
        return Vec::new();
    }
    if events.iter().any(|e| e == "*") {
        if events.iter().any(|e| e != "*") {
            problems.push(field, "\"*\" subscribes to every type and must stand alone");
        }
        return vec!["*".to_owned()];
    }
    let mut out: Vec<String> = Vec::new();
    for (i, event) in events.iter().enumerate() {
        match event.parse::<EventType>() {
            Ok(t) if !out.iter().any(|e| e == t.as_str()) => out.push(t.as_str().to_owned()),
            Ok(_) => {}
            Err(_) => problems.push(
                format!("{field}[{i}]"),
                format!("unknown event type {event:?}; see docs/api.md \"Webhooks\" for the list"),
            ),
        }
    }
    out
}

fn url(problems: &mut Problems, core: &Core, raw: &str) -> String {
    crate::domain::config::fields::webhook_url(raw.to_owned(), core.policy.webhook_targets)
        .unwrap_or_else(|message| {
            problems.push("url", message);
            String::new()
        })
}

pub async fn create(
    core: &Core,
    db: &mut Db,
    ctx: &AuditContext,
    tenant_id: &str,
    body: Value,
) -> ApiResult<CreatedWebhookEndpoint> {
    let request: CreateWebhookEndpointRequest = parse(body)?;
    let mut problems = Problems::default();
    let url = url(&mut problems, core, &request.url);
    let events = events(&mut problems, "events", &request.events);
    let description = request
        .description
        .as_deref()
        .map(|d| problems.text("description", d, 1, MAX_DESCRIPTION_CHARS));
    problems.finish()?;
    let secret = new_secret();
    let at = now();
    let row = EndpointRow {
        seq: 0,
        id: new_id("we"),
        tenant_id: tenant_id.to_owned(),
        url,
        events,
        description,
        enabled: request.enabled.unwrap_or(true),
        secret: core.sealer.seal_str(&secret),
        previous_secret: None,
        previous_secret_expires_at: None,
        created_at: at,
        updated_at: at,
    };
    match webhooks::create(db, &row).await? {
        CreateEndpointOutcome::Created(row) => {
            let changes = audit::created(&json!({"endpoint": audited(&row), "secret": "new"}));
            let target = ("webhook_endpoint", row.id.as_str());
            audit::record(
                db,
                ctx,
                "webhook_endpoint.create",
                target,
                Some(tenant_id),
                Some(changes),
            )
            .await?;
            Ok(CreatedWebhookEndpoint {
                endpoint: view(&row, &core.sealer),
                secret: secret.into(),
            })
        }
        CreateEndpointOutcome::TenantNotFound => Err(ApiError::not_found("Tenant")),
        CreateEndpointOutcome::TooMany => Err(ApiError::conflict(format!(
            "A tenant has at most {MAX_ENDPOINTS} webhook endpoints; delete one first"
        ))),
    }
}

/// Endpoints with `seq > after_seq`, oldest first.
pub async fn list(
    db: &mut Db,
    tenant_id: &str,
    after_seq: i64,
    limit: i64,
) -> ApiResult<Vec<EndpointRow>> {
    super::views::tenant_row(db, tenant_id).await?;
    Ok(webhooks::list(db, tenant_id, after_seq, limit).await?)
}

pub async fn get(db: &mut Db, tenant_id: &str, id: &str) -> ApiResult<EndpointRow> {
    webhooks::get(db, tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Webhook endpoint"))
}

/// Changes the fields present in the body; the rest stay.
pub async fn update(
    core: &Core,
    db: &mut Db,
    ctx: &AuditContext,
    tenant_id: &str,
    id: &str,
    body: Value,
) -> ApiResult<EndpointRow> {
    let request: UpdateWebhookEndpointRequest = parse(body)?;
    let mut problems = Problems::default();
    let url = request.url.as_deref().map(|u| url(&mut problems, core, u));
    let events = request
        .events
        .as_deref()
        .map(|e| events(&mut problems, "events", e));
    let description = match &request.description {
        Patch::Absent => None,
        Patch::Reset => Some(None),
        Patch::Set(d) => Some(Some(problems.text(
            "description",
            d,
            1,
            MAX_DESCRIPTION_CHARS,
        ))),
    };
    problems.finish()?;
    let mut row = webhooks::lock(db, tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Webhook endpoint"))?;
    let before = json!(audited(&row));
    if let Some(url) = url {
        row.url = url;
    }
    if let Some(events) = events {
        row.events = events;
    }
    if let Some(description) = description {
        row.description = description;
    }
    if let Some(enabled) = request.enabled {
        row.enabled = enabled;
    }
    row.updated_at = now();
    webhooks::save(db, &row).await?;
    let changes = audit::diff(&before, &json!(audited(&row)));
    let target = ("webhook_endpoint", id);
    audit::record(
        db,
        ctx,
        "webhook_endpoint.update",
        target,
        Some(tenant_id),
        Some(changes),
    )
    .await?;
    Ok(row)
}

/// Deletes the endpoint; its pending deliveries are never sent.
pub async fn delete(db: &mut Db, ctx: &AuditContext, tenant_id: &str, id: &str) -> ApiResult<()> {
    if webhooks::delete(db, tenant_id, id).await? {
        let target = ("webhook_endpoint", id);
        audit::record(
            db,
            ctx,
            "webhook_endpoint.delete",
            target,
            Some(tenant_id),
            None,
        )
        .await?;
        Ok(())
    } else {
        Err(ApiError::not_found("Webhook endpoint"))
    }
}

/// A new secret. The previous one keeps signing for `expire_previous_in_seconds` (default
/// a day; 0 stops it at once), so a receiver can switch without dropping a delivery.
pub async fn rotate_secret(
    core: &Core,
    db: &mut Db,
    ctx: &AuditContext,
    tenant_id: &str,
    id: &str,
    body: Option<Value>,
) -> ApiResult<RotatedWebhookSecret> {
    let request: RotateWebhookSecretRequest = match body {
        None | Some(Value::Null) => RotateWebhookSecretRequest::default(),
        Some(body) => parse(body)?,
    };
    let overlap = request
        .expire_previous_in_seconds
        .unwrap_or(DEFAULT_OVERLAP_SECONDS);
    let mut problems = Problems::default();
    problems.range(
        "expire_previous_in_seconds",
        Some(overlap),
        0,
        MAX_OVERLAP_SECONDS,
    );
    problems.finish()?;
    let mut row = webhooks::lock(db, tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Webhook endpoint"))?;
    let at = now();
    let secret = new_secret();
    let previous = std::mem::replace(&mut row.secret, core.sealer.seal_str(&secret));
    if overlap > 0 {
        row.previous_secret = Some(previous);
        row.previous_secret_expires_at = Some(at + overlap);
    } else {
        row.previous_secret = None;
        row.previous_secret_expires_at = None;
    }
    row.updated_at = at;
    webhooks::save(db, &row).await?;
    let changes = audit::created(&json!({
        "secret": "new",
        "previous_secret_expires_at": row.previous_secret_expires_at.map(to_datetime),
    }));
    let target = ("webhook_endpoint", id);
    audit::record(
        db,
        ctx,
        "webhook_endpoint.rotate_secret",
        target,
        Some(tenant_id),
        Some(changes),
    )
    .await?;
    Ok(RotatedWebhookSecret {
        id: row.id.clone(),
        secret: secret.into(),
        previous_secret_expires_at: row.previous_secret_expires_at.map(to_datetime),
    })
}

/// Enqueues a `webhook.test` event to this endpoint (enabled or not), due at once.
pub async fn test(
    db: &mut Db,
    ctx: &AuditContext,
    tenant_id: &str,
    id: &str,
) -> ApiResult<WebhookTestResult> {
    let row = get(db, tenant_id, id).await?;
    let data = WebhookTestData {
        endpoint_id: row.id.clone(),
    };
    let (event_id, delivery_id) = super::events::record_test(db, tenant_id, &row.id, data).await?;
    let target = ("webhook_endpoint", id);
    audit::record(
        db,
        ctx,
        "webhook_endpoint.test",
        target,
        Some(tenant_id),
        None,
    )
    .await?;
    Ok(WebhookTestResult {
        event_id,
        delivery_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_standard_webhooks_secrets() {
        let secret = new_secret();
        let key = STANDARD
            .decode(secret.strip_prefix(SECRET_PREFIX).unwrap())
            .unwrap();
        assert_eq!(key.len(), SECRET_BYTES);
        assert_ne!(new_secret(), secret);
    }

    #[test]
    fn event_lists() {
        let mut problems = Problems::default();
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            events(
                &mut problems,
                "events",
                &list(&["room.ended", "room.ended", "meeting.ended"])
            ),
            list(&["room.ended", "meeting.ended"])
        );
        assert_eq!(events(&mut problems, "events", &list(&["*"])), list(&["*"]));
        assert!(problems.is_empty());
        events(&mut problems, "events", &list(&["*", "room.ended"]));
        events(&mut problems, "events", &list(&["room.nope"]));
        events(&mut problems, "events", &[]);
        let err = problems.finish().unwrap_err();
        let fields: Vec<_> = err.details.iter().map(|d| d.field.clone()).collect();
        assert_eq!(fields, vec!["events", "events[0]", "events"]);
    }
}
