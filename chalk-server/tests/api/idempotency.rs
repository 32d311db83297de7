//! docs/api.md Idempotency: creates and rotate-key honor `Idempotency-Key`.

use serde_json::json;

use crate::common::*;

async fn tenant_count(app: &TestApp) -> usize {
    app.get("/api/v1/tenants").master().send().await.body["data"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_retried_create_returns_the_first_response_secret_included() {
    let app = test_app().await;
    let create = || {
        app.post("/api/v1/tenants")
            .master()
            .header("Idempotency-Key", "ci-run-1234")
            .json(json!({"name": "Acme", "email": "ops@acme.edu"}))
    };
    let first = create().send().await;
    first.assert_status(201);
    let second = create().send().await;
    second.assert_status(201);
    assert_eq!(second.body, first.body, "the same tenant and the same key");
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_ne!(second.header("x-request-id"), first.header("x-request-id"));
    assert_eq!(tenant_count(&app).await, 1);
    // The replayed key is the working key.
    let key = second.body["data"]["api_key"].as_str().unwrap();
    app.get("/api/v1/tenant")
        .key(key)
        .send()
        .await
        .assert_status(200);
    // Key order and whitespace of the body do not matter.
    let reordered = app
        .post("/api/v1/tenants")
        .master()
        .header("Idempotency-Key", "ci-run-1234")
        .header("Content-Type", "application/json")
        .raw("{ \"email\": \"ops@acme.edu\",\n \"name\": \"Acme\" }")
        .send()
        .await;
    reordered.assert_status(201);
    assert_eq!(reordered.body, first.body);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_409() {
    let app = test_app().await;
    app.post("/api/v1/tenants")
        .master()
        .header("Idempotency-Key", "k1")
        .json(json!({"name": "Acme"}))
        .send()
        .await
        .assert_status(201);
    app.post("/api/v1/tenants")
        .master()
        .header("Idempotency-Key", "k1")
        .json(json!({"name": "Globex"}))
        .send()
        .await
        .assert_error(409, "CONFLICT");
    assert_eq!(tenant_count(&app).await, 1);
}

#[tokio::test]
async fn keys_are_per_caller_and_a_failed_request_reserves_nothing() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    let body = json!({"name": "deploy", "scopes": ["rooms:read"]});
    let create = |tenant: &Tenant| {
        app.post(&format!("/api/v1/tenants/{}/api-keys", tenant.id))
            .key(&tenant.key)
            .header("Idempotency-Key", "same-key")
            .json(body.clone())
    };
    let a = create(&acme).send().await;
    a.assert_status(201);
    let b = create(&other).send().await;
    b.assert_status(201);
    assert_ne!(a.body["data"]["key_id"], b.body["data"]["key_id"]);
    let again = create(&acme).send().await;
    assert_eq!(again.body, a.body);
    let keys = app
        .get(&format!("/api/v1/tenants/{}/api-keys", acme.id))
        .master()
        .send()
        .await;
    assert_eq!(keys.body["data"].as_array().unwrap().len(), 2);

    // A rejected request leaves the key free for the corrected retry.
    let bad = app
        .post("/api/v1/tenants")
        .master()
        .header("Idempotency-Key", "fix-and-retry")
        .json(json!({"name": ""}))
        .send()
        .await;
    bad.assert_error(422, "VALIDATION_ERROR");
    app.post("/api/v1/tenants")
        .master()
        .header("Idempotency-Key", "fix-and-retry")
        .json(json!({"name": "Fixed"}))
        .send()
        .await
        .assert_status(201);
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_400() {
    let app = test_app().await;
    for key in ["x".repeat(256), "tab\there".to_owned(), String::new()] {
        let response = app
            .post("/api/v1/tenants")
            .master()
            .header("Idempotency-Key", &key)
            .json(json!({"name": "Acme"}))
            .send()
            .await;
        response.assert_error(400, "INVALID_REQUEST");
        assert_eq!(response.fields(), ["Idempotency-Key"]);
    }
    assert_eq!(tenant_count(&app).await, 0);
    app.post("/api/v1/tenants")
        .master()
        .header("Idempotency-Key", &"x".repeat(255))
        .json(json!({"name": "Acme"}))
        .send()
        .await
        .assert_status(201);
}

#[tokio::test]
async fn a_retried_rotate_key_rotates_once() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = format!("/api/v1/tenants/{}/rotate-key", acme.id);
    let first = app
        .post(&path)
        .master()
        .header("Idempotency-Key", "rotate-1")
        .send()
        .await;
    first.assert_status(200);
    let second = app
        .post(&path)
        .master()
        .header("Idempotency-Key", "rotate-1")
        .send()
        .await;
    second.assert_status(200);
    assert_eq!(second.body, first.body);
    let key = first.body["data"]["api_key"].as_str().unwrap();
    app.get("/api/v1/tenant")
        .key(key)
        .send()
        .await
        .assert_status(200);
    let keys = app
        .get(&format!("/api/v1/tenants/{}/api-keys", acme.id))
        .master()
        .send()
        .await;
    let keys = keys.body["data"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], first.body["data"]["key_id"]);
    // Another body under the same key is a conflict, and rotates nothing.
    app.post(&path)
        .master()
        .header("Idempotency-Key", "rotate-1")
        .json(json!({"expire_previous_in_seconds": 60}))
        .send()
        .await
        .assert_error(409, "CONFLICT");
    app.get("/api/v1/tenant")
        .key(key)
        .send()
        .await
        .assert_status(200);
}

/// Hardening rules: a replay repeats every permission check, those made inside the
/// transaction included. The primary key rotates itself with a grace period, then — no
/// longer primary, still valid — retries with the same `Idempotency-Key`: it gets what a
/// fresh request by it gets (403), never the first response with its successor's secret.
#[tokio::test]
async fn a_replayed_rotate_key_rechecks_that_the_caller_is_still_primary() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = format!("/api/v1/tenants/{}/rotate-key", acme.id);
    let body = json!({"expire_previous_in_seconds": 600});
    let rotate = |idempotency_key: &'static str| {
        app.post(&path)
            .key(&acme.key)
            .header("Idempotency-Key", idempotency_key)
            .json(body.clone())
    };
    let first = rotate("rotate-ci").send().await;
    first.assert_status(200);
    let successor = first.body["data"]["api_key"].as_str().unwrap().to_owned();

    let fresh = rotate("another-key").send().await;
    fresh.assert_error(403, "FORBIDDEN");
    let replayed = rotate("rotate-ci").send().await;
    replayed.assert_error(403, "FORBIDDEN");
    assert_eq!(
        replayed.body["error"]["message"], fresh.body["error"]["message"],
        "the answer of a fresh request"
    );
    assert!(replayed.header("idempotent-replayed").is_none());
    assert!(!replayed.text.contains(&successor), "the secret leaked");

    // Nothing rotated: the successor is the primary, the old key works until its expiry.
    let keys = app
        .get(&format!("/api/v1/tenants/{}/api-keys", acme.id))
        .master()
        .send()
        .await;
    let primary: Vec<_> = keys.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["primary"] == true)
        .map(|k| k["id"].clone())
        .collect();
    assert_eq!(primary, [first.body["data"]["key_id"].clone()]);
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_status(200);
    app.get("/api/v1/tenant")
        .key(&successor)
        .send()
        .await
        .assert_status(200);

    // Rotated away at once, the old key is refused before any replay: 401, as fresh.
    let second = app
        .post(&path)
        .key(&successor)
        .header("Idempotency-Key", "rotate-ci")
        .send()
        .await;
    second.assert_status(200);
    let replayed = app
        .post(&path)
        .key(&successor)
        .header("Idempotency-Key", "rotate-ci")
        .send()
        .await;
    replayed.assert_error(401, "UNAUTHORIZED");
    assert!(
        !replayed
            .text
            .contains(second.body["data"]["api_key"].as_str().unwrap())
    );

    // The master key may still rotate, so its replay is served.
    let by_master = || {
        app.post(&path)
            .master()
            .header("Idempotency-Key", "rotate-ci")
            .send()
    };
    let first = by_master().await;
    first.assert_status(200);
    let again = by_master().await;
    again.assert_status(200);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn replayed_secrets_are_sealed_at_rest() {
    let app = test_app().await;
    let response = app
        .post("/api/v1/tenants")
        .master()
        .header("Idempotency-Key", "sealed")
        .json(json!({"name": "Acme"}))
        .send()
        .await;
    let key = response.body["data"]["api_key"].as_str().unwrap();
    let reservation = chalk_server::store::IdempotencyReservation {
        scope: "master".into(),
        key: "sealed".into(),
        request_hash: "another request".into(),
        tenant_id: None,
        now: chrono::Utc::now().timestamp(),
        expired_before: 0,
    };
    // The store's own record: looked up under a different request hash it reports a
    // mismatch; under the right one it replays a body that is sealed, not plaintext.
    let mut db = app.state.store.begin().await.unwrap();
    let begin = chalk_server::store::idempotency::reserve(&mut db, &reservation)
        .await
        .unwrap();
    assert_eq!(begin, chalk_server::store::IdempotencyBegin::Mismatch);
    let fingerprint = chalk_server::http::idempotency::fingerprint(
        "POST",
        "/api/v1/tenants",
        Some(&json!({"name": "Acme"})),
    );
    let begin = chalk_server::store::idempotency::reserve(
        &mut db,
        &chalk_server::store::IdempotencyReservation {
            request_hash: chalk_server::crypto::hash_secret(&fingerprint),
            ..reservation
        },
    )
    .await
    .unwrap();
    match begin {
        chalk_server::store::IdempotencyBegin::Replay { sealed_body, .. } => {
            assert!(!sealed_body.contains(key));
            let opened = app.state.sealer.open_str(&sealed_body).unwrap();
            assert!(opened.contains(key));
        }
        other => panic!("expected a replay, got {other:?}"),
    }
}
