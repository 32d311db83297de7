//! Issue #11, as API.md's Credentials and Hardening rules say: repeated credential headers,
//! the Bearer scheme's case, the failed-authentication throttle, the participant rate
//! limit, visible names and opaque cursors. (Timeouts, shutdown, file modes and the HTTP
//! layer's own refusals need the real binary: tests/process.rs.)

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chalk_server::Policy;
use serde_json::json;

use crate::common::*;

/// Waits out the current one-minute window when fewer than `needed` seconds remain, so
/// that a test's requests all fall in one window.
async fn fresh_window(needed: i64) {
    let now = chrono::Utc::now().timestamp();
    let left = 60 - now.rem_euclid(60);
    if left < needed {
        tokio::time::sleep(std::time::Duration::from_secs(left as u64 + 1)).await;
    }
}

/// Item 8: `get` sees only the first of two headers; two is two credentials.
#[tokio::test]
async fn a_credential_header_sent_twice_is_400_like_two_credentials() {
    let app = test_app().await;
    let a = app.tenant("Tenant A").await;
    let b = app.tenant("Tenant B").await;
    let pair = app.token(&a.key).await;
    for response in [
        app.get("/api/v1/tenant")
            .key(&a.key)
            .key(&b.key)
            .send()
            .await,
        app.get("/api/v1/tenant")
            .key(&a.key)
            .key(&a.key)
            .send()
            .await,
        app.get("/api/v1/tenant")
            .bearer(&pair.access)
            .bearer(&pair.access)
            .send()
            .await,
        app.get("/api/v1/tenants").master().master().send().await,
    ] {
        response.assert_error(400, "INVALID_REQUEST");
        assert!(
            response.message().contains("exactly one credential"),
            "{}",
            response.text
        );
    }
    // Each alone still works, as itself.
    let alone = app.get("/api/v1/tenant").key(&b.key).send().await;
    alone.assert_status(200);
    assert_eq!(alone.body["data"]["id"], b.id.as_str());
}

/// Item 15a: RFC 7235 auth schemes are case-insensitive.
#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    let pair = app.token(&tenant.key).await;
    for scheme in ["BEARER", "bearer", "BeArEr", "Bearer"] {
        let response = app
            .get("/api/v1/tenant")
            .header("Authorization", &format!("{scheme} {}", pair.access))
            .send()
            .await;
        response.assert_status(200);
        assert_eq!(response.body["data"]["id"], tenant.id.as_str(), "{scheme}");
    }
    for bad in [
        format!("Bearer{}", pair.access),
        format!("Basic {}", pair.access),
    ] {
        app.get("/api/v1/tenant")
            .header("Authorization", &bad)
            .send()
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
}

/// Item 6: past 20 failures a minute, an address is refused before its credential is
/// even checked — the right master key included — while other addresses are served.
#[tokio::test]
async fn failed_authentication_is_throttled_per_client_address() {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    fresh_window(15).await;
    let attacker = "203.0.113.7:40000";
    for n in 0..20 {
        app.get("/api/v1/tenants")
            .peer(attacker)
            .header("X-Master-Key", &format!("guess-{n}"))
            .send()
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    // Another port of the same host is the same client.
    let refused = app
        .get("/api/v1/tenants")
        .peer("203.0.113.7:40001")
        .master()
        .send()
        .await;
    let error = refused.assert_error(429, "RATE_LIMITED");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("failed authentication"),
        "{}",
        refused.text
    );
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    app.get("/api/v1/tenant")
        .peer(attacker)
        .key(&tenant.key)
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");
    // The probes stay open to it; other addresses are not affected.
    app.get("/healthz")
        .peer(attacker)
        .send()
        .await
        .assert_status(200);
    let other = app
        .get("/api/v1/tenants")
        .peer("198.51.100.1:5000")
        .master()
        .send()
        .await;
    other.assert_status(200);
    assert_eq!(other.body["data"].as_array().unwrap().len(), 1);
}

/// Item 6: wrong API keys given to `/auth/token` count too (the key is in the body), and
/// an IPv6 client is one /64.
#[tokio::test]
async fn failed_token_exchanges_are_throttled_too() {
    let app = test_app_with(Policy {
        auth_failure_limit: 5,
        ..Policy::default()
    })
    .await;
    let tenant = app.tenant("Acme").await;
    fresh_window(15).await;
    for n in 0..5 {
        app.post("/api/v1/auth/token")
            .peer(&format!("[2001:db8:1:2::{n}]:443"))
            .json(json!({"api_key": format!("sk_live_{n:0>32}")}))
            .send()
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    app.post("/api/v1/auth/token")
        .peer("[2001:db8:1:2:ffff::1]:443")
        .json(json!({"api_key": tenant.key}))
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");
    let elsewhere = app
        .post("/api/v1/auth/token")
        .peer("[2001:db8:1:3::1]:443")
        .json(json!({"api_key": tenant.key}))
        .send()
        .await;
    elsewhere.assert_status(200);
    assert!(elsewhere.body["data"]["access_token"].is_string());
}

/// Item 5: a browser looping on its room spends its own budget, not its tenant's.
#[tokio::test]
async fn participant_tokens_have_their_own_rate_limit() {
    let app = test_app_with(Policy {
        participant_rate_limit: 8,
        ..Policy::default()
    })
    .await;
    let tenant = app
        .create_tenant(json!({"name": "Acme", "rate_limit_per_minute": 5}))
        .await;
    fresh_window(15).await;
    let joined = app
        .post("/api/v1/rooms/cs101/participants")
        .key(&tenant.key)
        .json(json!({"display_name": "Alice", "role": "participant"}))
        .send()
        .await;
    joined.assert_status(201);
    let token = joined.body["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let room = joined.body["data"]["room"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for remaining in (0..8).rev() {
        let response = app
            .get(&format!("/api/v1/rooms/{room}"))
            .bearer(&token)
            .send()
            .await;
        response.assert_status(200);
        assert_eq!(response.header("ratelimit-limit"), Some("8"));
        assert_eq!(
            response.header("ratelimit-remaining"),
            Some(remaining.to_string().as_str())
        );
    }
    let limited = app
        .get(&format!("/api/v1/rooms/{room}"))
        .bearer(&token)
        .send()
        .await;
    limited.assert_error(429, "RATE_LIMITED");
    assert!(limited.header("retry-after").is_some());
    // The tenant spent one request (the join) of its five: its key is untouched.
    let own = app.get("/api/v1/tenant").key(&tenant.key).send().await;
    own.assert_status(200);
    assert_eq!(own.header("ratelimit-limit"), Some("5"));
    assert_eq!(own.header("ratelimit-remaining"), Some("3"));
}

/// Item 15b: a name must hold a visible character once spaces and format characters
/// (Unicode Cf: zero-width space and joiner, BOM, word joiner) are left aside.
#[tokio::test]
async fn a_name_of_invisible_characters_is_422() {
    let app = test_app().await;
    for name in ["\u{200B}", "\u{200D}", " \u{FEFF} ", "\u{2060}\u{200B}"] {
        let response = app
            .post("/api/v1/tenants")
            .master()
            .json(json!({ "name": name }))
            .send()
            .await;
        response.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(response.fields(), ["name"], "{name:?}");
    }
    let tenant = app.tenant("Acme").await;
    let key = app
        .post(&format!("/api/v1/tenants/{}/api-keys", tenant.id))
        .master()
        .json(json!({"name": "\u{200B}", "scopes": ["tenant:read"]}))
        .send()
        .await;
    key.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(key.fields(), ["name"]);
    // Nothing was created by the refused requests; a name with one visible character is fine.
    let list = app.get("/api/v1/tenants").master().send().await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    app.create_tenant(json!({"name": "\u{200B}A"})).await;
}

/// Item 15d: a cursor reveals no row number, and one altered by a client is 400.
#[tokio::test]
async fn cursors_are_sealed_and_a_tampered_one_is_400() {
    let app = test_app().await;
    for n in 0..3 {
        app.tenant(&format!("Tenant {n}")).await;
    }
    let first = app.get("/api/v1/tenants?limit=1").master().send().await;
    first.assert_status(200);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let again = app.get("/api/v1/tenants?limit=1").master().send().await;
    let other = again.body["next_cursor"].as_str().unwrap();
    assert_ne!(
        cursor, other,
        "a cursor is sealed afresh each time: no fixed encoding"
    );
    let decoded = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
    assert!(
        !String::from_utf8_lossy(&decoded).starts_with("s:"),
        "the position is not readable"
    );

    // It works as issued…
    let second = app
        .get(&format!("/api/v1/tenants?limit=1&cursor={cursor}"))
        .master()
        .send()
        .await;
    second.assert_status(200);
    assert_ne!(second.body["data"][0]["id"], first.body["data"][0]["id"]);

    // …but not altered, nor forged in the old readable form.
    let mut bytes = decoded.clone();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    for forged in [
        URL_SAFE_NO_PAD.encode(&bytes),
        URL_SAFE_NO_PAD.encode("s:1"),
        URL_SAFE_NO_PAD.encode("s:0"),
    ] {
        let response = app
            .get(&format!("/api/v1/tenants?limit=1&cursor={forged}"))
            .master()
            .send()
            .await;
        response.assert_error(400, "INVALID_REQUEST");
        assert_eq!(response.fields(), ["cursor"]);
    }
}
