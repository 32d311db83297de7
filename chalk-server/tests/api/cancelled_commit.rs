//! A change is enforced from the next request even when the request that made it went away
//! mid-way (docs/api.md, Hardening rules): what the cache holds is invalidated by the commit, not
//! by the request's future.
//!
//! The store's fault hook stalls a commit right after it was handed to the database (the
//! savepoint released into its batch on SQLite, the COMMIT sent on PostgreSQL); the test
//! then drops the request, as a disconnecting client does. The change commits; the next
//! request with the credential it revoked must be refused, every time.

use std::time::Duration;

use serde_json::json;

use crate::common::*;

/// Sends `call` with the commit stall armed and drops it while it waits for its commit.
async fn send_and_drop(app: &TestApp, call: Call<'_>) {
    let faults = app.state.store.faults();
    faults.stall_after_handoff();
    let outcome = tokio::time::timeout(Duration::from_millis(500), call.send()).await;
    assert!(
        outcome.is_err(),
        "the request should still be waiting for its commit: {:?}",
        outcome.map(|r| (r.status, r.text))
    );
    assert!(
        !faults.pending(),
        "the stall fired: the commit was handed over"
    );
    faults.disarm();
    // The change was handed over before the drop, so it commits regardless. An empty
    // write transaction queues behind that commit on SQLite's writer (the PostgreSQL
    // commit task finished long before the timeout).
    let db = app.state.store.begin().await.expect("begin");
    db.commit().await.expect("commit");
}

/// Uses `key` once, so that it (and its tenant) are in the cache the change must clear.
async fn warm(app: &TestApp, key: &str) {
    app.get("/api/v1/tenant")
        .key(key)
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_revoke_whose_client_left_still_refuses_the_key_and_its_tokens() {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    let (key, key_id) = app
        .scoped_key(&tenant, &["tenant:admin", "rooms:write"])
        .await;
    warm(&app, &key).await;
    let tokens = app.token(&key).await;
    app.get("/api/v1/tenant")
        .bearer(&tokens.access)
        .send()
        .await
        .assert_status(200);

    let path = format!("/api/v1/tenants/{}/api-keys/{key_id}", tenant.id);
    send_and_drop(&app, app.delete(&path).master()).await;

    // Committed: the key is gone from the list.
    let listed = app
        .get(&format!("/api/v1/tenants/{}/api-keys", tenant.id))
        .master()
        .send()
        .await;
    let ids: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [tenant.key_id.as_str()],
        "only the primary key is left"
    );
    // And refused, from the very next request: as a key, its tokens, and for the
    // escalation the attack run found (a "revoked" admin key minting a new key).
    for _ in 0..3 {
        app.get("/api/v1/tenant")
            .key(&key)
            .send()
            .await
            .assert_error(401, "UNAUTHORIZED");
        app.get("/api/v1/tenant")
            .bearer(&tokens.access)
            .send()
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    app.post(&format!("/api/v1/tenants/{}/api-keys", tenant.id))
        .key(&key)
        .json(json!({"name": "escape", "scopes": ["tenant:admin"]}))
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.post("/api/v1/auth/token")
        .json(json!({"api_key": key}))
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn a_tenant_deleted_by_a_client_that_left_is_gone_for_its_keys() {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    warm(&app, &tenant.key).await;
    app.read_tenant(&tenant.id).await.assert_status(200);

    let path = format!("/api/v1/tenants/{}", tenant.id);
    send_and_drop(&app, app.delete(&path).master()).await;

    app.read_tenant(&tenant.id)
        .await
        .assert_error(404, "NOT_FOUND");
    app.get("/api/v1/tenant")
        .key(&tenant.key)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn a_suspension_whose_client_left_is_enforced() {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    warm(&app, &tenant.key).await;

    let path = format!("/api/v1/tenants/{}/suspend", tenant.id);
    send_and_drop(&app, app.post(&path).master()).await;

    app.read_tenant(&tenant.id).await.body["data"]["status"]
        .as_str()
        .filter(|s| *s == "suspended")
        .expect("stored as suspended");
    app.get("/api/v1/tenant")
        .key(&tenant.key)
        .send()
        .await
        .assert_error(403, "TENANT_SUSPENDED");
}

#[tokio::test]
async fn a_rotation_whose_client_left_retires_the_old_key() {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    warm(&app, &tenant.key).await;

    let path = format!("/api/v1/tenants/{}/rotate-key", tenant.id);
    send_and_drop(&app, app.post(&path).master().json(json!({}))).await;

    let listed = app
        .get(&format!("/api/v1/tenants/{}/api-keys", tenant.id))
        .master()
        .send()
        .await;
    let keys = listed.body["data"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "the new primary only: {keys:?}");
    assert_ne!(keys[0]["id"], tenant.key_id.as_str(), "rotated");
    app.get("/api/v1/tenant")
        .key(&tenant.key)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

/// A request that goes away while its transaction is starting (waiting for the writer,
/// or with its `BEGIN`/`SAVEPOINT` sent but not answered) leaves the writer as it found
/// it: every later write works and commits. Dropped at many different moments, since the
/// window that matters is a few microseconds wide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_dropped_while_it_begins_leaves_the_writer_usable() {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    for round in 0..150u64 {
        let store = app.state.store.clone();
        let started = tokio::time::timeout(Duration::from_micros(round % 50), async move {
            store.begin().await.map(drop)
        })
        .await;
        if let Ok(result) = started {
            result.expect("begin");
        }
        let path = format!("/api/v1/tenants/{}/api-keys", tenant.id);
        app.post(&path)
            .master()
            .json(json!({"name": format!("k{round}"), "scopes": ["tenant:read"]}))
            .send()
            .await
            .assert_status(201);
    }
    let listed = app
        .get(&format!("/api/v1/tenants/{}/api-keys?limit=200", tenant.id))
        .master()
        .send()
        .await;
    assert_eq!(
        listed.body["data"].as_array().unwrap().len(),
        151,
        "every acknowledged key, and the primary"
    );
}
