//! Per-tenant rate limits: `RateLimit-*` headers, 429 `RATE_LIMITED` with `Retry-After`.

use serde_json::json;

use crate::common::*;

/// Waits out the end of the current one-minute window when fewer than `needed` seconds
/// remain, so a test's requests all fall in one window.
async fn fresh_window(needed: i64) {
    let now = chrono::Utc::now().timestamp();
    let left = 60 - now.rem_euclid(60);
    if left < needed {
        tokio::time::sleep(std::time::Duration::from_secs(left as u64 + 1)).await;
    }
}

#[tokio::test]
async fn a_tenant_over_its_limit_gets_429_with_retry_after() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "rate_limit_per_minute": 3}))
        .await;
    let other = app
        .create_tenant(json!({"name": "Other", "rate_limit_per_minute": 3}))
        .await;
    fresh_window(5).await;
    for remaining in [2, 1, 0] {
        let response = app.get("/api/v1/tenant").key(&acme.key).send().await;
        response.assert_status(200);
        assert_eq!(response.header("ratelimit-limit"), Some("3"));
        assert_eq!(
            response.header("ratelimit-remaining"),
            Some(remaining.to_string().as_str())
        );
        let reset: i64 = response.header("ratelimit-reset").unwrap().parse().unwrap();
        assert!((1..=60).contains(&reset), "{reset}");
    }
    let limited = app.get("/api/v1/tenant").key(&acme.key).send().await;
    limited.assert_error(429, "RATE_LIMITED");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    assert_eq!(limited.header("ratelimit-limit"), Some("3"));

    // Every credential of the tenant shares the budget, tokens included.
    app.get("/api/v1/tenant")
        .bearer(&app.state.signer.mint_access(
            &acme.id,
            &acme.key_id,
            "tenant:read",
            chrono::Utc::now().timestamp(),
            60,
        ))
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");
    // Other tenants and the operator are not affected.
    app.get("/api/v1/tenant")
        .key(&other.key)
        .send()
        .await
        .assert_status(200);
    let master = app.read_tenant(&acme.id).await;
    master.assert_status(200);
    assert!(master.header("ratelimit-limit").is_none());
}

#[tokio::test]
async fn a_raised_limit_applies_at_once() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "rate_limit_per_minute": 1}))
        .await;
    fresh_window(5).await;
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_status(200);
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");
    app.patch(&format!("/api/v1/tenants/{}", acme.id))
        .master()
        .json(json!({"rate_limit_per_minute": 10}))
        .send()
        .await
        .assert_status(200);
    let response = app.get("/api/v1/tenant").key(&acme.key).send().await;
    response.assert_status(200);
    assert_eq!(response.header("ratelimit-limit"), Some("10"));
}
