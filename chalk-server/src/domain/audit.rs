//! The audit log (docs/api.md "Operator keys and audit log"): the one place that decides what an
//! entry holds.
//!
//! Every change made through the API calls [`record`] with the same `&mut Db` as the
//! change, so an entry commits with its change or not at all. The request's side of an
//! entry (who, from where, which request) is an [`AuditContext`], built once per request by
//! the credential middleware; a domain function adds what it changed. Field-level changes
//! come from [`diff`], which never lets a secret through: a field whose name marks a secret
//! shows only `"changed"`, whatever it holds (a plaintext, a hash or a sealed blob).
//!
//! Refused attempts that carried a credential are made by [`denied_entry`] and written by
//! [`write_denied`], in a small transaction of their own (the request changed nothing to
//! commit with); `denials.rs` decides which are written, and with what count.

use chalk_sdk::model::{Actor, ActorType, AuditEvent, AuditOutcome, AuditTarget};
use serde_json::{Map, Value, json};

use crate::clock::{now, to_datetime};
use crate::crypto::new_id;
use crate::error::{ApiError, ApiResult};
use crate::store::audit::{self as rows, AuditFilter, AuditRow};
use crate::store::{Db, Store, StoreResult};

/// Field-level changes: `{"field": {"from", "to"}}`, or `{"field": "changed"}` for a secret.
pub type Changes = Map<String, Value>;

/// Field names whose values are secrets (or derived from one): never written to the log.
const SECRET_FIELDS: [&str; 11] = [
    "secret",
    "secret_fingerprint",
    "api_key",
    "key",
    "key_hash",
    "sealed",
    "private_key",
    "access_token",
    "refresh_token",
    "token",
    "password",
];

/// Who made the request and from where: taken by handlers as an extractor (built in
/// `http/credentials.rs` from the caller and the request) and handed to the domain functions that
/// change something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContext {
    pub actor: Actor,
    /// The `X-Request-Id` the response carries.
    pub request_id: String,
    pub client_ip: String,
    pub user_agent: Option<String>,
}

impl AuditContext {
    /// The same request, acting as another actor: a participant renewing its tokens with
    /// its refresh token carries no credential header, yet is that participant.
    pub fn acting_as(&self, actor: Actor) -> Self {
        Self {
            actor,
            ..self.clone()
        }
    }
}

/// What a change was made to: `("tenant", id)`, `("api_key", id)`, …
pub type Target<'a> = (&'a str, &'a str);

fn row_with(
    ctx: &AuditContext,
    action: &str,
    outcome: AuditOutcome,
    (target_type, target_id): Target,
    tenant_id: Option<&str>,
    changes: Option<Changes>,
) -> AuditRow {
    AuditRow {
        seq: 0,
        id: new_id("aud"),
        at: now(),
        request_id: ctx.request_id.clone(),
        actor_type: ctx.actor.kind.as_str().to_owned(),
        actor_id: ctx.actor.id.clone(),
        actor_name: ctx.actor.name.clone(),
        action: action.to_owned(),
        outcome: outcome.as_str().to_owned(),
        target_type: target_type.to_owned(),
        target_id: target_id.to_owned(),
        tenant_id: tenant_id.map(str::to_owned),
        changes: changes
            .filter(|c| !c.is_empty())
            .map(|c| Value::Object(c).to_string()),
        client_ip: ctx.client_ip.clone(),
        user_agent: ctx.user_agent.clone(),
    }
}

/// Records a change, in the transaction that makes it.
pub async fn record(
    db: &mut Db,
    ctx: &AuditContext,
    action: &str,
    target: Target<'_>,
    tenant_id: Option<&str>,
    changes: Option<Changes>,
) -> StoreResult<()> {
    rows::insert(db, &entry(ctx, action, target, tenant_id, changes)).await
}

/// The entry [`record`] writes, for a change whose transaction is run elsewhere (a
/// signing key rotation, retried by the key ring).
pub fn entry(
    ctx: &AuditContext,
    action: &str,
    target: Target<'_>,
    tenant_id: Option<&str>,
    changes: Option<Changes>,
) -> AuditRow {
    row_with(
        ctx,
        action,
        AuditOutcome::Succeeded,
        target,
        tenant_id,
        changes,
    )
}

/// The entry of a refused attempt, standing for one refusal until
/// [`with_refusal_count`] says otherwise. Written by [`write_denied`] once the caller has
/// decided it is due (see `denials.rs`: at most one per credential and reason a minute).
pub fn denied_entry(
    ctx: &AuditContext,
    method: &str,
    route: Option<&str>,
    path: &str,
    tenant_id: Option<&str>,
) -> AuditRow {
    let action = action_of(method, route);
    let target = format!("{method} {path}");
    row_with(
        ctx,
        &action,
        AuditOutcome::Denied,
        ("request", &target),
        tenant_id,
        None,
    )
}

/// A refusal changes nothing, so a denied entry's `changes` column is free to carry how
/// many refusals the entry stands for (`{"count": n}`); [`view`] shows it as `count`.
/// (A column of its own would read better; the store's schema is left as it is here.)
pub fn with_refusal_count(mut row: AuditRow, count: i64) -> AuditRow {
    row.changes = Some(json!({ "count": count }).to_string());
    row
}

/// How many refusals a denied entry stands for: 1 for entries written before the count.
fn refusal_count(row: &AuditRow) -> i64 {
    row.changes
        .as_deref()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|value| value["count"].as_i64())
        .unwrap_or(1)
}

/// Writes a denied entry in its own transaction (the request changed nothing to commit
/// with). A failure to record is logged, never turned into another answer: the request is
/// refused either way.
pub async fn write_denied(store: &Store, entry: &AuditRow) {
    let written = async {
        let mut db = store.begin().await?;
        rows::insert(&mut db, entry).await?;
        db.commit().await
    };
    if let Err(e) = written.await {
        tracing::warn!(error = %e, "could not record a denied request in the audit log");
    }
}

/// The action a route performs, for denied attempts (a change records its own action).
pub fn action_of(method: &str, route: Option<&str>) -> String {
    let route = route.unwrap_or("");
    let known = ACTIONS
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map(|(_, _, action)| *action);
    match known {
        Some(action) => action.to_owned(),
        None => format!("{method} {route}"),
    }
}

/// (method, route, action) of every protected route.
const ACTIONS: &[(&str, &str, &str)] = &[
    ("POST", "/api/v1/tenants", "tenant.create"),
    ("GET", "/api/v1/tenants", "tenant.list"),
    ("GET", "/api/v1/tenants/{id}", "tenant.read"),
    ("PATCH", "/api/v1/tenants/{id}", "tenant.update"),
    ("DELETE", "/api/v1/tenants/{id}", "tenant.delete"),
    ("GET", "/api/v1/tenant", "tenant.read"),
    ("POST", "/api/v1/tenants/{id}/rotate-key", "api_key.rotate"),
    ("POST", "/api/v1/tenants/{id}/suspend", "tenant.suspend"),
    ("POST", "/api/v1/tenants/{id}/resume", "tenant.resume"),
    ("GET", "/api/v1/tenants/{id}/config", "config.read"),
    ("PATCH", "/api/v1/tenants/{id}/config", "config.update"),
    ("POST", "/api/v1/tenants/{id}/api-keys", "api_key.create"),
    ("GET", "/api/v1/tenants/{id}/api-keys", "api_key.list"),
    (
        "DELETE",
        "/api/v1/tenants/{id}/api-keys/{key_id}",
        "api_key.revoke",
    ),
    ("GET", "/api/v1/tenants/{id}/audit-events", "audit.list"),
    (
        "POST",
        "/api/v1/tenants/{id}/webhook-endpoints",
        "webhook_endpoint.create",
    ),
    (
        "GET",
        "/api/v1/tenants/{id}/webhook-endpoints",
        "webhook_endpoint.list",
    ),
    (
        "GET",
        "/api/v1/tenants/{id}/webhook-endpoints/{eid}",
        "webhook_endpoint.read",
    ),
    (
        "PATCH",
        "/api/v1/tenants/{id}/webhook-endpoints/{eid}",
        "webhook_endpoint.update",
    ),
    (
        "DELETE",
        "/api/v1/tenants/{id}/webhook-endpoints/{eid}",
        "webhook_endpoint.delete",
    ),
    (
        "POST",
        "/api/v1/tenants/{id}/webhook-endpoints/{eid}/rotate-secret",
        "webhook_endpoint.rotate_secret",
    ),
    (
        "POST",
        "/api/v1/tenants/{id}/webhook-endpoints/{eid}/test",
        "webhook_endpoint.test",
    ),
    ("GET", "/api/v1/tenants/{id}/events", "event.list"),
    (
        "GET",
        "/api/v1/tenants/{id}/webhook-deliveries",
        "webhook_delivery.list",
    ),
    (
        "POST",
        "/api/v1/tenants/{id}/webhook-deliveries/{did}/retry",
        "webhook_delivery.retry",
    ),
    ("POST", "/api/v1/rooms", "room.create"),
    ("GET", "/api/v1/rooms", "room.list"),
    ("GET", "/api/v1/rooms/{id}", "room.read"),
    ("POST", "/api/v1/rooms/{id}/end", "room.end"),
    (
        "POST",
        "/api/v1/rooms/{id}/participants",
        "participant.join",
    ),
    (
        "POST",
        "/api/v1/rooms/{id}/participants/{pid}/token",
        "participant.renew_tokens",
    ),
    (
        "DELETE",
        "/api/v1/rooms/{id}/participants/{pid}",
        "participant.remove",
    ),
    ("GET", "/api/v1/signing-keys", "signing_key.list"),
    ("POST", "/api/v1/signing-keys/rotate", "signing_key.rotate"),
    ("POST", "/api/v1/operator-keys", "operator_key.create"),
    ("GET", "/api/v1/operator-keys", "operator_key.list"),
    (
        "DELETE",
        "/api/v1/operator-keys/{id}",
        "operator_key.revoke",
    ),
    ("GET", "/api/v1/audit-events", "audit.list"),
    ("POST", "/api/v1/auth/token", "auth.token"),
    ("POST", "/api/v1/auth/refresh", "auth.refresh"),
];

fn is_secret(field: &str) -> bool {
    SECRET_FIELDS.contains(&field)
}

/// The field-level difference between two JSON views of a resource: nested objects by
/// dotted path, secrets (by field name, at any depth) as `"changed"` only.
pub fn diff(before: &Value, after: &Value) -> Changes {
    let mut out = Changes::new();
    walk("", Some(before), Some(after), &mut out);
    out
}

/// Every field of a resource just created, as changes from nothing.
pub fn created(after: &Value) -> Changes {
    diff(&Value::Null, after)
}

fn walk(path: &str, before: Option<&Value>, after: Option<&Value>, out: &mut Changes) {
    let before = before.filter(|v| !v.is_null());
    let after = after.filter(|v| !v.is_null());
    let field = path.rsplit('.').next().unwrap_or(path);
    if is_secret(field) {
        if before != after {
            out.insert(path.to_owned(), json!("changed"));
        }
        return;
    }
    let as_object = |v: Option<&Value>| match v {
        None => Some(Map::new()),
        Some(Value::Object(map)) => Some(map.clone()),
        Some(_) => None,
    };
    let is_object = |v: Option<&Value>| matches!(v, Some(Value::Object(_)));
    if (is_object(before) || is_object(after))
        && let (Some(b), Some(a)) = (as_object(before), as_object(after))
    {
        let mut fields: Vec<&String> = b.keys().chain(a.keys()).collect();
        fields.sort();
        fields.dedup();
        for name in fields {
            let nested = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            walk(&nested, b.get(name), a.get(name), out);
        }
        return;
    }
    if before != after {
        out.insert(
            path.to_owned(),
            json!({"from": before.cloned().unwrap_or(Value::Null), "to": after.cloned().unwrap_or(Value::Null)}),
        );
    }
}

/// The wire view of an entry.
pub fn view(row: &AuditRow) -> ApiResult<AuditEvent> {
    let kind: ActorType = row.actor_type.parse().map_err(ApiError::internal)?;
    let outcome = match row.outcome.as_str() {
        "denied" => AuditOutcome::Denied,
        _ => AuditOutcome::Succeeded,
    };
    let (changes, count) = match outcome {
        AuditOutcome::Denied => (None, Some(refusal_count(row))),
        AuditOutcome::Succeeded => (changes_of(row)?, None),
    };
    Ok(AuditEvent {
        id: row.id.clone(),
        at: to_datetime(row.at),
        request_id: row.request_id.clone(),
        actor: Actor {
            kind,
            id: row.actor_id.clone(),
            name: row.actor_name.clone(),
        },
        action: row.action.clone(),
        outcome,
        target: AuditTarget {
            kind: row.target_type.clone(),
            id: row.target_id.clone(),
        },
        tenant_id: row.tenant_id.clone(),
        changes,
        count,
        client_ip: row.client_ip.clone(),
        user_agent: row.user_agent.clone(),
    })
}

fn changes_of(row: &AuditRow) -> ApiResult<Option<Changes>> {
    Ok(match &row.changes {
        None => None,
        Some(text) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Some(map),
            _ => {
                return Err(ApiError::internal(
                    "an audit entry's changes are not an object",
                ));
            }
        },
    })
}

/// Entries matching `filter`, `seq > after_seq`, oldest first.
pub async fn list(
    db: &mut Db,
    filter: &AuditFilter,
    after_seq: i64,
    limit: i64,
) -> ApiResult<Vec<AuditRow>> {
    Ok(rows::list(db, filter, after_seq, limit).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_changed_fields_by_path() {
        let before = json!({"name": "a", "quota": 1, "webhook": null});
        let after =
            json!({"name": "b", "quota": 1, "webhook": {"url": "https://x", "enabled": true}});
        let changes = diff(&before, &after);
        assert_eq!(changes["name"], json!({"from": "a", "to": "b"}));
        assert_eq!(
            changes["webhook.url"],
            json!({"from": null, "to": "https://x"})
        );
        assert_eq!(
            changes["webhook.enabled"],
            json!({"from": null, "to": true})
        );
        assert!(!changes.contains_key("quota"));
    }

    #[test]
    fn secrets_show_only_changed_at_any_depth() {
        let before =
            json!({"hook": {"secret": {"sealed": "AAA", "last4": "abcd"}}, "api_key": null});
        let after =
            json!({"hook": {"secret": {"sealed": "BBB", "last4": "wxyz"}}, "api_key": "sk_live_x"});
        let changes = diff(&before, &after);
        assert_eq!(changes["hook.secret"], json!("changed"));
        assert_eq!(changes["api_key"], json!("changed"));
        let text = Value::Object(changes).to_string();
        for leaked in ["AAA", "BBB", "abcd", "wxyz", "sk_live_x"] {
            assert!(!text.contains(leaked), "{leaked} leaked into {text}");
        }
        let same = json!({"hook": {"secret": {"sealed": "AAA", "last4": "abcd"}}});
        assert!(diff(&same, &same).is_empty());
    }

    #[test]
    fn denied_actions_come_from_the_route_table() {
        assert_eq!(
            action_of("PATCH", Some("/api/v1/tenants/{id}")),
            "tenant.update"
        );
        assert_eq!(
            action_of("GET", Some("/api/v1/nowhere")),
            "GET /api/v1/nowhere"
        );
    }
}
