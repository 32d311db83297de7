//! Issue 25: the client address behind a reverse proxy (`CHALK_TRUSTED_PROXIES`). From a
//! trusted peer the client is the right-most `X-Forwarded-For` entry that is not itself a
//! trusted proxy; from any other peer the header is ignored. The one address feeds open
//! registration's per-address limit, the failed-authentication throttle and `client_ip`
//! in the audit log.

use chalk_server::Policy;
use chalk_server::net::client_ip::TrustedProxies;
use serde_json::json;

use crate::common::*;

fn behind_proxies() -> Policy {
    Policy {
        open_registration: true,
        registration_rate_limit: 1,
        auth_failure_limit: 2,
        trusted_proxies: TrustedProxies::parse("10.0.0.0/8").unwrap(),
        ..Policy::default()
    }
}

async fn signup(app: &TestApp, peer: &str, forwarded_for: &str, name: &str) -> Response {
    app.post("/api/v1/tenants")
        .peer(peer)
        .header("X-Forwarded-For", forwarded_for)
        .json(json!({ "name": name }))
        .send()
        .await
}

#[tokio::test]
async fn open_registration_and_the_audit_log_see_the_client_a_trusted_proxy_names() {
    let app = test_app_with(behind_proxies()).await;
    let now = chrono::Utc::now().timestamp();
    if 3600 - now.rem_euclid(3600) < 15 {
        tokio::time::sleep(std::time::Duration::from_secs(16)).await;
    }
    // Two proxies of ours: the client is 203.0.113.9; what it wrote itself (198.51.100.1)
    // is not believed.
    signup(
        &app,
        "10.0.0.5:4000",
        "198.51.100.1, 203.0.113.9, 10.0.0.7",
        "First",
    )
    .await
    .assert_status(201);
    // The same client through another proxy: its one signup this hour is spent.
    let again = signup(&app, "10.0.0.6:4000", "203.0.113.9", "Second").await;
    again.assert_error(429, "RATE_LIMITED");
    assert!(again.message().contains("signups"), "{}", again.text);
    // Another client behind the same proxy is another address.
    signup(&app, "10.0.0.5:4001", "203.0.113.10", "Third")
        .await
        .assert_status(201);
    // An untrusted peer's header is ignored: the client is the peer itself.
    signup(&app, "192.0.2.50:4000", "203.0.113.11", "Fourth")
        .await
        .assert_status(201);
    signup(&app, "192.0.2.50:4001", "203.0.113.12", "Fifth")
        .await
        .assert_error(429, "RATE_LIMITED");

    let created = audit_entries(&app, "&action=tenant.create").await;
    let seen: Vec<(&str, &str)> = created
        .iter()
        .map(|e| {
            (
                e["changes"]["name"]["to"].as_str().unwrap(),
                e["client_ip"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("First", "203.0.113.9"),
            ("Third", "203.0.113.10"),
            ("Fourth", "192.0.2.50")
        ]
    );
    let names: Vec<String> = app.get("/api/v1/tenants").master().send().await.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["First", "Third", "Fourth"]);
}

#[tokio::test]
async fn the_failure_throttle_counts_each_client_behind_a_trusted_proxy_apart() {
    let app = test_app_with(behind_proxies()).await;
    fresh_window(15).await;
    let bad_guess = |forwarded_for: &'static str, n: usize| {
        app.get("/api/v1/tenants")
            .peer("10.0.0.5:4000")
            .header("X-Forwarded-For", forwarded_for)
            .header("X-Master-Key", &format!("guess-{n}"))
            .send()
    };
    for n in 0..2 {
        bad_guess("203.0.113.20", n)
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    let throttled = bad_guess("203.0.113.20", 2).await;
    throttled.assert_error(429, "RATE_LIMITED");
    assert!(throttled.header("retry-after").is_some());
    // The proxy's other clients are not its failures.
    bad_guess("203.0.113.21", 3)
        .await
        .assert_error(401, "UNAUTHORIZED");
    // A forged header from an untrusted peer does not escape its own count.
    for n in 0..2 {
        app.get("/api/v1/tenants")
            .peer("192.0.2.60:4000")
            .header("X-Forwarded-For", &format!("203.0.113.{}", 100 + n))
            .header("X-Master-Key", "wrong")
            .send()
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    app.get("/api/v1/tenants")
        .peer("192.0.2.60:4001")
        .header("X-Forwarded-For", "203.0.113.200")
        .header("X-Master-Key", "wrong")
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");
}
