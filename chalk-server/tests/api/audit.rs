//! Operator keys and the audit log (docs/api.md "Operator keys and audit log").

use serde_json::{Value, json};

use crate::common::*;

const PEER: &str = "203.0.113.7:40000";
const AGENT: &str = "audit-test/1.0";

fn request_id(response: &Response) -> String {
    response.header("x-request-id").unwrap().to_owned()
}

/// Every entry of the operator view, oldest first, following the cursor.
async fn all_entries(app: &TestApp, query: &str) -> (Vec<Value>, String) {
    let mut entries = Vec::new();
    let mut raw = String::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/audit-events?limit=5{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.get(&path).master().send().await;
        page.assert_status(200);
        raw.push_str(&page.text);
        entries.extend(page.body["data"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (entries, raw),
        }
    }
}

/// Every text column of every audit row, read from the store directly.
async fn raw_rows(app: &TestApp) -> String {
    let mut db = app.state.store.read().await.unwrap();
    let rows = sqlx::query(
        "SELECT id, request_id, actor_type, actor_id, actor_name, action, outcome, target_type, \
         target_id, tenant_id, changes, client_ip, user_agent FROM audit_events",
    )
    .fetch_all(db.conn().unwrap())
    .await
    .unwrap();
    let mut text = String::new();
    for row in &rows {
        for i in 0..13 {
            let value: Option<String> = sqlx::Row::get(row, i);
            text.push_str(&value.unwrap_or_default());
            text.push('\n');
        }
    }
    text
}

async fn audit_count(app: &TestApp) -> i64 {
    let mut db = app.state.store.read().await.unwrap();
    let row = sqlx::query("SELECT COUNT(*) AS n FROM audit_events")
        .fetch_one(db.conn().unwrap())
        .await
        .unwrap();
    sqlx::Row::get(&row, "n")
}

#[tokio::test]
async fn operator_keys_carry_the_master_keys_powers_until_revoked() {
    let app = test_app().await;
    let created = app
        .post("/api/v1/operator-keys")
        .master()
        .json(json!({"name": "alice"}))
        .send()
        .await;
    created.assert_status(201);
    let data = &created.body["data"];
    let alice_id = data["id"].as_str().unwrap().to_owned();
    let alice = data["key"].as_str().unwrap().to_owned();
    assert!(alice_id.starts_with("op_"), "{alice_id}");
    let random = alice.strip_prefix("ok_live_").expect("ok_live_ prefix");
    assert_eq!(random.len(), 32);
    assert!(random.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(data["prefix"], &alice[..12]);
    assert_eq!(data["created_by"], "master");

    // The master key's powers: tenants, signing keys, other operator keys.
    let tenant = app
        .post("/api/v1/tenants")
        .header("X-Master-Key", &alice)
        .json(json!({"name": "Acme", "max_concurrent_rooms": 3}))
        .send()
        .await;
    tenant.assert_status(201);
    let rotated = app
        .post("/api/v1/signing-keys/rotate")
        .header("X-Master-Key", &alice)
        .send()
        .await;
    rotated.assert_status(if hs256_mode() { 409 } else { 200 });
    let bob = app
        .post("/api/v1/operator-keys")
        .header("X-Master-Key", &alice)
        .json(json!({"name": "bob"}))
        .send()
        .await;
    bob.assert_status(201);
    assert_eq!(bob.body["data"]["created_by"], alice_id.as_str());
    let bob_id = bob.body["data"]["id"].as_str().unwrap().to_owned();
    let bob_key = bob.body["data"]["key"].as_str().unwrap().to_owned();

    // Listed without secrets, with last use.
    let list = app.get("/api/v1/operator-keys").master().send().await;
    list.assert_status(200);
    assert!(!list.text.contains(&alice) && !list.text.contains(&bob_key));
    let listed = list.body["data"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], alice_id.as_str());
    assert!(listed[0]["last_used_at"].is_string(), "{}", list.text);

    // Nobody revokes the key they are using; anyone else's, yes.
    app.delete(&format!("/api/v1/operator-keys/{alice_id}"))
        .header("X-Master-Key", &alice)
        .send()
        .await
        .assert_error(409, "CONFLICT");
    app.delete(&format!("/api/v1/operator-keys/{bob_id}"))
        .header("X-Master-Key", &alice)
        .send()
        .await
        .assert_status(200);
    // Refused from the very next request; gone from the list; a second revoke is 404.
    app.get("/api/v1/tenants")
        .header("X-Master-Key", &bob_key)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.delete(&format!("/api/v1/operator-keys/{bob_id}"))
        .master()
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    let list = app.get("/api/v1/operator-keys").master().send().await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);

    // An expired key is refused too (the store is moved past its expiry).
    {
        let mut db = app.state.store.begin().await.unwrap();
        sqlx::query("UPDATE operator_keys SET expires_at = 1 WHERE id = $1")
            .bind(&alice_id)
            .execute(db.conn().unwrap())
            .await
            .unwrap();
        db.commit().await.unwrap();
    }
    app.get("/api/v1/tenants")
        .header("X-Master-Key", &alice)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");

    // Tenant credentials cannot manage operator keys; bad input names its field.
    let t = app.tenant("Beta").await;
    app.get("/api/v1/operator-keys")
        .key(&t.key)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    let bad = app
        .post("/api/v1/operator-keys")
        .master()
        .json(json!({"name": " ", "expires_at": "2001-01-01T00:00:00Z"}))
        .send()
        .await;
    bad.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(bad.fields(), vec!["name", "expires_at"]);
}

#[tokio::test]
async fn the_audit_log_names_every_change_its_actor_and_request_and_no_secret() {
    let app = test_app().await;
    let mut secrets: Vec<String> = vec![MASTER_KEY.to_owned()];
    // (request id, action, actor type, actor id)
    let mut expected: Vec<(String, &str, &str, Option<String>)> = Vec::new();

    // The master key creates a tenant with a webhook secret and an operator key.
    let webhook_secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3";
    secrets.push(webhook_secret.to_owned());
    let created = app
        .post("/api/v1/tenants")
        .master()
        .peer(PEER)
        .header("User-Agent", AGENT)
        .json(json!({"name": "Acme", "config": {"post_meeting_webhook": {
            "enabled": true, "url": "https://hooks.acme.edu/x", "secret": webhook_secret}}}))
        .send()
        .await;
    created.assert_status(201);
    let tenant_id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let primary = created.body["data"]["api_key"].as_str().unwrap().to_owned();
    let primary_id = created.body["data"]["key_id"].as_str().unwrap().to_owned();
    secrets.push(primary.clone());
    expected.push((request_id(&created), "tenant.create", "master", None));
    let op = app
        .post("/api/v1/operator-keys")
        .master()
        .json(json!({"name": "ops-alice"}))
        .send()
        .await;
    op.assert_status(201);
    let op_id = op.body["data"]["id"].as_str().unwrap().to_owned();
    let op_key = op.body["data"]["key"].as_str().unwrap().to_owned();
    secrets.push(op_key.clone());
    expected.push((request_id(&op), "operator_key.create", "master", None));

    // The operator key renames the tenant and replaces the webhook secret.
    let renamed = app
        .patch(&format!("/api/v1/tenants/{tenant_id}"))
        .header("X-Master-Key", &op_key)
        .json(json!({"name": "Acme University", "max_concurrent_rooms": 7}))
        .send()
        .await;
    renamed.assert_status(200);
    expected.push((
        request_id(&renamed),
        "tenant.update",
        "operator",
        Some(op_id.clone()),
    ));
    let new_secret = "whsec_OTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTBmZWQ=";
    secrets.push(new_secret.to_owned());
    let patched = app
        .patch(&format!("/api/v1/tenants/{tenant_id}/config"))
        .header("X-Master-Key", &op_key)
        .json(json!({"force_recording": true, "post_meeting_webhook": {"secret": new_secret}}))
        .send()
        .await;
    patched.assert_status(200);
    expected.push((
        request_id(&patched),
        "config.update",
        "operator",
        Some(op_id.clone()),
    ));

    // The tenant's own key: a scoped key, a room, a participant, the key revoked.
    let key = app
        .post(&format!("/api/v1/tenants/{tenant_id}/api-keys"))
        .key(&primary)
        .json(json!({"name": "ci", "scopes": ["rooms:read"]}))
        .send()
        .await;
    key.assert_status(201);
    let extra = key.body["data"]["api_key"].as_str().unwrap().to_owned();
    let extra_id = key.body["data"]["key_id"].as_str().unwrap().to_owned();
    secrets.push(extra.clone());
    expected.push((
        request_id(&key),
        "api_key.create",
        "api_key",
        Some(primary_id.clone()),
    ));
    let room = app
        .post("/api/v1/rooms")
        .key(&primary)
        .json(json!({"id": "cs101"}))
        .send()
        .await;
    room.assert_status(201);
    expected.push((
        request_id(&room),
        "room.create",
        "api_key",
        Some(primary_id.clone()),
    ));
    let joined = app
        .post("/api/v1/rooms/cs101/participants")
        .key(&primary)
        .json(json!({"display_name": "Ada", "role": "host"}))
        .send()
        .await;
    joined.assert_status(201);
    for token in ["access_token", "refresh_token"] {
        secrets.push(joined.body["data"][token].as_str().unwrap().to_owned());
    }
    expected.push((
        request_id(&joined),
        "participant.join",
        "api_key",
        Some(primary_id.clone()),
    ));
    let revoked = app
        .delete(&format!("/api/v1/tenants/{tenant_id}/api-keys/{extra_id}"))
        .key(&primary)
        .send()
        .await;
    revoked.assert_status(200);
    expected.push((
        request_id(&revoked),
        "api_key.revoke",
        "api_key",
        Some(primary_id.clone()),
    ));

    // A change that fails leaves no entry.
    let failed = app
        .patch(&format!("/api/v1/tenants/{tenant_id}"))
        .key(&primary)
        .json(json!({"name": ""}))
        .send()
        .await;
    failed.assert_error(422, "VALIDATION_ERROR");
    let failed_id = request_id(&failed);

    // Refusals that carried a credential are recorded as denied.
    let forbidden = app
        .patch(&format!("/api/v1/tenants/{tenant_id}"))
        .key(&primary)
        .json(json!({"max_concurrent_rooms": 1000}))
        .send()
        .await;
    forbidden.assert_error(403, "FORBIDDEN");
    let dead_key = app.get("/api/v1/tenant").key(&extra).send().await;
    dead_key.assert_error(401, "UNAUTHORIZED");

    // The master key rotates the primary key; the new one is a secret too.
    let rotated = app
        .post(&format!("/api/v1/tenants/{tenant_id}/rotate-key"))
        .master()
        .send()
        .await;
    rotated.assert_status(200);
    secrets.push(rotated.body["data"]["api_key"].as_str().unwrap().to_owned());
    expected.push((request_id(&rotated), "api_key.rotate", "master", None));

    // Another tenant's change, made with its own key.
    let other = app.tenant("Beta").await;
    secrets.push(other.key.clone());
    let other_room = app
        .post("/api/v1/rooms")
        .key(&other.key)
        .json(json!({}))
        .send()
        .await;
    other_room.assert_status(201);

    // Read back: one entry per change, in order, each with its actor and request id.
    let (entries, raw_operator_view) = all_entries(&app, "").await;
    let of_acme: Vec<&Value> = entries
        .iter()
        .filter(|e| e["outcome"] == "succeeded" && e["tenant_id"] != other.id.as_str())
        .collect();
    let seen: Vec<(String, &str, &str, Option<String>)> = of_acme
        .iter()
        .map(|e| {
            (
                e["request_id"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap(),
                e["actor"]["type"].as_str().unwrap(),
                e["actor"]["id"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(seen, expected);
    assert!(
        entries
            .iter()
            .all(|e| e["request_id"] != failed_id.as_str())
    );

    // What exactly: field-level changes, secrets only as "changed".
    let by_action = |action: &str| {
        of_acme
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action}"))
    };
    let first = by_action("tenant.create");
    assert_eq!(first["client_ip"], "203.0.113.7");
    assert_eq!(first["user_agent"], AGENT);
    assert_eq!(first["target"], json!({"type": "tenant", "id": tenant_id}));
    assert_eq!(
        first["changes"]["config.post_meeting_webhook.secret"],
        "changed"
    );
    let update = by_action("tenant.update");
    assert_eq!(
        update["changes"]["name"],
        json!({"from": "Acme", "to": "Acme University"})
    );
    assert_eq!(
        update["changes"]["max_concurrent_rooms"],
        json!({"from": 100, "to": 7})
    );
    assert_eq!(update["actor"]["name"], "ops-alice");
    let config = by_action("config.update");
    assert_eq!(
        config["changes"]["config.force_recording"],
        json!({"from": false, "to": true})
    );
    assert_eq!(
        config["changes"]["config.post_meeting_webhook.secret"],
        "changed"
    );
    assert_eq!(by_action("api_key.create")["actor"]["name"], "primary");

    // Denials: the 403 names the tenant key; the revoked key's 401 names that key.
    let denied: Vec<&Value> = entries
        .iter()
        .filter(|e| e["outcome"] == "denied")
        .collect();
    let forbidden_entry = denied
        .iter()
        .find(|e| e["request_id"] == request_id(&forbidden).as_str())
        .expect("the 403 is recorded");
    assert_eq!(forbidden_entry["action"], "tenant.update");
    assert_eq!(forbidden_entry["actor"]["id"], primary_id.as_str());
    assert_eq!(forbidden_entry["tenant_id"], tenant_id.as_str());
    let dead_entry = denied
        .iter()
        .find(|e| e["request_id"] == request_id(&dead_key).as_str())
        .expect("the 401 with a known key prefix is recorded");
    assert_eq!(dead_entry["actor"]["id"], extra_id.as_str());

    // The tenant's own view: its entries only; never another tenant's.
    let own = app
        .get(&format!(
            "/api/v1/tenants/{tenant_id}/audit-events?limit=200"
        ))
        .key(rotated.body["data"]["api_key"].as_str().unwrap())
        .send()
        .await;
    own.assert_status(200);
    let own_entries = own.body["data"].as_array().unwrap();
    assert!(
        own_entries
            .iter()
            .all(|e| e["tenant_id"] == tenant_id.as_str())
    );
    assert!(own_entries.iter().any(|e| e["action"] == "room.create"));
    assert!(!own.text.contains(&other.id));
    app.get(&format!("/api/v1/tenants/{}/audit-events", other.id))
        .key(rotated.body["data"]["api_key"].as_str().unwrap())
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.get(&format!(
        "/api/v1/tenants/{tenant_id}/audit-events?tenant_id={}",
        other.id
    ))
    .master()
    .send()
    .await
    .assert_error(400, "INVALID_REQUEST");

    // Filters.
    let (by_op, _) = all_entries(&app, &format!("&actor_id={op_id}")).await;
    assert_eq!(by_op.len(), 2);
    let (configs, _) = all_entries(&app, "&action=config.update").await;
    assert_eq!(configs.len(), 1);
    let (of_other, _) = all_entries(&app, &format!("&tenant_id={}", other.id)).await;
    assert!(of_other.iter().all(|e| e["tenant_id"] == other.id.as_str()));
    assert_eq!(of_other.len(), 2, "create and room");
    let (future, _) = all_entries(&app, "&since=2999-01-01T00:00:00Z").await;
    assert!(future.is_empty());
    let (past, _) = all_entries(&app, "&until=2000-01-01T00:00:00Z").await;
    assert!(past.is_empty());

    // No secret anywhere: not in the responses, not in the rows, not even masked or hashed.
    let rows = raw_rows(&app).await;
    for secret in &secrets {
        let hash = chalk_server::crypto::hash_secret(secret);
        let masked = format!("****{}", &secret[secret.len() - 4..]);
        for (what, text) in [
            ("operator view", &raw_operator_view),
            ("tenant view", &own.text),
            ("database rows", &rows),
        ] {
            assert!(!text.contains(secret.as_str()), "a secret in the {what}");
            assert!(!text.contains(&hash), "a secret's hash in the {what}");
            assert!(!text.contains(&masked), "a masked secret in the {what}");
        }
    }
}

#[tokio::test]
async fn a_tenant_reads_its_log_only_with_tenant_admin() {
    let app = test_app().await;
    let t = app.tenant("Acme").await;
    let (reader, _) = app.scoped_key(&t, &["tenant:read"]).await;
    app.get(&format!("/api/v1/tenants/{}/audit-events", t.id))
        .key(&reader)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.get("/api/v1/audit-events")
        .key(&t.key)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    // Both refusals are in the tenant's own log.
    let own = app
        .get(&format!("/api/v1/tenants/{}/audit-events", t.id))
        .key(&t.key)
        .send()
        .await;
    own.assert_status(200);
    let denied: Vec<&str> = own.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "denied")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(denied, vec!["audit.list", "audit.list"]);
    // Nothing changes or deletes an entry.
    for method in ["PATCH", "DELETE", "PUT"] {
        let response = app
            .call(method.parse().unwrap(), "/api/v1/audit-events")
            .master()
            .send()
            .await;
        assert_eq!(response.status, 405, "{method}");
    }
}

/// A failure at any step of a change (the audit insert included) leaves neither the
/// change nor its entry.
#[tokio::test]
async fn a_change_and_its_entry_commit_together() {
    let app = test_app().await;
    let t = app.tenant("Acme").await;
    let keys_of = async |app: &TestApp| {
        let list = app
            .get(&format!("/api/v1/tenants/{}/api-keys", t.id))
            .master()
            .send()
            .await;
        list.body["data"].as_array().unwrap().len()
    };
    let before = (keys_of(&app).await, audit_count(&app).await);
    let mut step = 0;
    loop {
        app.state.store.faults().fail_step(step);
        let response = app
            .post(&format!("/api/v1/tenants/{}/api-keys", t.id))
            .master()
            .json(json!({"name": "ci", "scopes": ["rooms:read"]}))
            .send()
            .await;
        let fired = !app.state.store.faults().pending();
        app.state.store.faults().disarm();
        if response.status == 201 {
            assert!(!fired, "the fault fired yet the change succeeded");
            break;
        }
        assert_eq!(response.status, 503, "step {step}: {}", response.text);
        assert_eq!(
            (keys_of(&app).await, audit_count(&app).await),
            before,
            "step {step} left something behind"
        );
        step += 1;
        assert!(step < 50, "the change never succeeded");
    }
    assert!(step >= 3, "the change ran through several steps ({step})");
    assert_eq!(
        (keys_of(&app).await, audit_count(&app).await),
        (before.0 + 1, before.1 + 1)
    );
}

#[tokio::test]
async fn the_retention_purge_deletes_only_old_entries() {
    let app = test_app().await;
    let t = app.tenant("Acme").await;
    app.patch(&format!("/api/v1/tenants/{}", t.id))
        .master()
        .json(json!({"name": "Acme 2"}))
        .send()
        .await
        .assert_status(200);
    let count = audit_count(&app).await;
    assert_eq!(count, 2);
    let now = chalk_server::clock::now();
    let day = 24 * 60 * 60;
    chalk_server::workers::housekeeping::purge(&app.state, now + 364 * day)
        .await
        .unwrap();
    assert_eq!(audit_count(&app).await, 2, "within the 365 days");
    let purged = chalk_server::workers::housekeeping::purge(&app.state, now + 366 * day)
        .await
        .unwrap();
    assert_eq!(purged.audit_events, 2);
    assert_eq!(audit_count(&app).await, 0);
}

/// Webhook endpoints: every change recorded, the signing secret only as "changed".
#[tokio::test]
async fn webhook_endpoint_changes_are_audited_without_their_secrets() {
    let app = test_app().await;
    let t = app.tenant("Acme").await;
    let created = app
        .post(&format!("/api/v1/tenants/{}/webhook-endpoints", t.id))
        .key(&t.key)
        .json(json!({"url": "https://hooks.acme.edu/a", "events": ["room.ended"]}))
        .send()
        .await;
    created.assert_status(201);
    let eid = created.body["data"]["id"].as_str().unwrap().to_owned();
    let mut secrets = vec![created.body["data"]["secret"].as_str().unwrap().to_owned()];
    let base = format!("/api/v1/tenants/{}/webhook-endpoints/{eid}", t.id);
    app.patch(&base)
        .key(&t.key)
        .json(json!({"enabled": false}))
        .send()
        .await
        .assert_status(200);
    let rotated = app
        .post(&format!("{base}/rotate-secret"))
        .key(&t.key)
        .send()
        .await;
    rotated.assert_status(200);
    secrets.push(rotated.body["data"]["secret"].as_str().unwrap().to_owned());
    app.delete(&base)
        .key(&t.key)
        .send()
        .await
        .assert_status(200);

    let log = app
        .get(&format!("/api/v1/tenants/{}/audit-events?limit=200", t.id))
        .key(&t.key)
        .send()
        .await;
    log.assert_status(200);
    let of_endpoint: Vec<&Value> = log.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"]["id"] == eid.as_str())
        .collect();
    let actions: Vec<&str> = of_endpoint
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "webhook_endpoint.create",
            "webhook_endpoint.update",
            "webhook_endpoint.rotate_secret",
            "webhook_endpoint.delete"
        ]
    );
    assert_eq!(of_endpoint[0]["changes"]["secret"], "changed");
    assert_eq!(
        of_endpoint[1]["changes"]["enabled"],
        json!({"from": true, "to": false})
    );
    assert_eq!(of_endpoint[2]["changes"]["secret"], "changed");
    let rows = raw_rows(&app).await;
    for secret in &secrets {
        assert!(!log.text.contains(secret.as_str()) && !rows.contains(secret.as_str()));
    }
}

/// `/auth/token` carries its key in the body: a refused `sk_live_` key is recorded too, a
/// string without the prefix is only throttled.
#[tokio::test]
async fn a_refused_token_exchange_is_recorded_as_denied() {
    let app = test_app().await;
    let t = app.tenant("Acme").await;
    let (extra, extra_id) = app.scoped_key(&t, &["rooms:read"]).await;
    app.delete(&format!("/api/v1/tenants/{}/api-keys/{extra_id}", t.id))
        .master()
        .send()
        .await
        .assert_status(200);
    let before = audit_count(&app).await;
    let refused = app
        .post("/api/v1/auth/token")
        .json(json!({ "api_key": extra }))
        .send()
        .await;
    refused.assert_error(401, "UNAUTHORIZED");
    app.post("/api/v1/auth/token")
        .json(json!({"api_key": "not-a-key"}))
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    assert_eq!(audit_count(&app).await, before + 1);
    let (entries, raw) = all_entries(&app, "&action=auth.token").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["outcome"], "denied");
    assert_eq!(entries[0]["actor"]["id"], extra_id.as_str());
    assert_eq!(entries[0]["tenant_id"], t.id.as_str());
    assert_eq!(entries[0]["request_id"], request_id(&refused).as_str());
    assert!(!raw.contains(&extra));
}
