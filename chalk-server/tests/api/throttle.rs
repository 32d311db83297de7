//! Issue 25: the failed-authentication throttle cannot lock out valid clients. From a
//! throttled address only a credential that does not verify is refused (429 instead of
//! 401, and no audit entry); a valid one is served, public documents are never throttled.

use chalk_server::Policy;
use serde_json::json;

use crate::common::*;

const ATTACKER: &str = "203.0.113.66:5000";

/// An app whose failure limit is 3, with that limit already reached by `ATTACKER`.
async fn throttled_app() -> TestApp {
    let app = test_app_with(Policy {
        auth_failure_limit: 3,
        ..Policy::default()
    })
    .await;
    fresh_window(20).await;
    for n in 0..3 {
        app.get("/api/v1/tenants")
            .peer(ATTACKER)
            .header("X-Master-Key", &format!("guess-{n}"))
            .send()
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    app
}

#[track_caller]
fn assert_throttled(response: &Response) {
    response.assert_error(429, "RATE_LIMITED");
    assert!(
        response.message().contains("failed authentication"),
        "{}",
        response.text
    );
    let retry_after: u64 = response.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn a_throttled_address_is_refused_only_what_does_not_verify() {
    let app = throttled_app().await;
    let tenant = app
        .create_tenant(json!({"name": "Acme", "rate_limit_per_minute": 50}))
        .await;
    let pair = app.token(&tenant.key).await;

    // Credentials that verify are served as usual; the tenant's limit applies.
    app.get("/api/v1/tenants")
        .peer(ATTACKER)
        .master()
        .send()
        .await
        .assert_status(200);
    for call in [
        app.get("/api/v1/tenant").peer(ATTACKER).key(&tenant.key),
        app.get("/api/v1/tenant")
            .peer(ATTACKER)
            .bearer(&pair.access),
    ] {
        let response = call.send().await;
        response.assert_status(200);
        assert_eq!(response.body["data"]["id"], tenant.id.as_str());
        assert_eq!(response.header("ratelimit-limit"), Some("50"));
    }
    let exchanged = app
        .post("/api/v1/auth/token")
        .peer(ATTACKER)
        .json(json!({"api_key": tenant.key}))
        .send()
        .await;
    exchanged.assert_status(200);
    let refreshed = app
        .post("/api/v1/auth/refresh")
        .peer(ATTACKER)
        .json(json!({"refresh_token": pair.refresh}))
        .send()
        .await;
    refreshed.assert_status(200);
    let next = crate::common::pair(&refreshed.body);
    let revoked = app
        .post("/api/v1/auth/revoke")
        .peer(ATTACKER)
        .json(json!({"token": next.refresh}))
        .send()
        .await;
    revoked.assert_status(200);
    assert_eq!(revoked.body["data"]["revoked"], true);
    // The revoked chain is really gone.
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": next.refresh}))
        .send()
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");

    // What does not verify is 429, whatever the endpoint.
    for call in [
        app.get("/api/v1/tenants")
            .peer(ATTACKER)
            .header("X-Master-Key", "guess-again"),
        app.get("/api/v1/tenant")
            .peer(ATTACKER)
            .key("sk_live_00000000000000000000000000000000"),
        app.get("/api/v1/tenant")
            .peer(ATTACKER)
            .bearer("not.a.token"),
        app.get("/api/v1/tenants").peer(ATTACKER),
        app.post("/api/v1/auth/token")
            .peer(ATTACKER)
            .json(json!({"api_key": "sk_live_11111111111111111111111111111111"})),
        app.post("/api/v1/auth/refresh")
            .peer(ATTACKER)
            .json(json!({"refresh_token": next.refresh})),
        app.post("/api/v1/auth/revoke")
            .peer(ATTACKER)
            .json(json!({"token": "rt_not_a_live_token"})),
    ] {
        assert_throttled(&call.send().await);
    }

    // Public documents are never throttled.
    for path in [
        "/.well-known/jwks.json",
        "/api/v1/openapi.json",
        "/healthz",
        "/readyz",
    ] {
        app.get(path).peer(ATTACKER).send().await.assert_status(200);
    }
}

#[tokio::test]
async fn a_refused_attempt_from_a_throttled_address_writes_no_audit_entry() {
    let app = throttled_app().await;
    let tenant = app.tenant("Acme").await;
    let mut revoked = Vec::new();
    for _ in 0..3 {
        let (key, key_id) = app.scoped_key(&tenant, &["tenant:read"]).await;
        app.delete(&format!("/api/v1/tenants/{}/api-keys/{key_id}", tenant.id))
            .master()
            .send()
            .await
            .assert_status(200);
        revoked.push(key);
    }
    let before = audit_entries(&app, "").await.len();
    // Three different known keys, each refused: from another address each would be an
    // entry of its own.
    for key in &revoked {
        assert_throttled(
            &app.get("/api/v1/tenant")
                .peer(ATTACKER)
                .key(key)
                .send()
                .await,
        );
        assert_throttled(
            &app.post("/api/v1/auth/token")
                .peer(ATTACKER)
                .json(json!({ "api_key": key }))
                .send()
                .await,
        );
    }
    // Nothing was written, nor held back to be written later.
    app.state
        .denials
        .write_due(&app.state.store, chrono::Utc::now().timestamp() + 3600)
        .await;
    assert_eq!(audit_entries(&app, "").await.len(), before);
    // The same refusal from an address in good standing is recorded.
    app.get("/api/v1/tenant")
        .peer("198.51.100.77:5000")
        .key(&revoked[0])
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    let denied: Vec<serde_json::Value> = audit_entries(&app, "&action=tenant.read")
        .await
        .into_iter()
        .filter(|e| e["outcome"] == "denied")
        .collect();
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0]["client_ip"], "198.51.100.77");
    assert_eq!(denied[0]["count"], 1);
}

/// Refresh tokens that were never live count as failed authentications (guessing them
/// must not be free); a spent one does not (concurrent refreshes of one token lose
/// legitimately).
#[tokio::test]
async fn unknown_refresh_tokens_count_as_failures_and_spent_ones_do_not() {
    let app = test_app_with(Policy {
        auth_failure_limit: 3,
        ..Policy::default()
    })
    .await;
    let tenant = app.tenant("Acme").await;
    fresh_window(20).await;
    let pair = app.token(&tenant.key).await;
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": pair.refresh}))
        .send()
        .await
        .assert_status(200);
    // The spent token, presented again and again from one address: 401 every time.
    for _ in 0..5 {
        app.post("/api/v1/auth/refresh")
            .peer("198.51.100.8:1000")
            .json(json!({"refresh_token": pair.refresh}))
            .send()
            .await
            .assert_error(401, "INVALID_REFRESH_TOKEN");
    }
    // Tokens that never existed: three failures, then 429.
    for n in 0..3 {
        app.post("/api/v1/auth/refresh")
            .peer(ATTACKER)
            .json(json!({"refresh_token": format!("rt_guess_{n}")}))
            .send()
            .await
            .assert_error(401, "INVALID_REFRESH_TOKEN");
    }
    assert_throttled(
        &app.post("/api/v1/auth/refresh")
            .peer(ATTACKER)
            .json(json!({"refresh_token": "rt_guess_4"}))
            .send()
            .await,
    );
}
