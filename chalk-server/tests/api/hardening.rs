//! Issue #11, as docs/api.md's Credentials and Hardening rules say: repeated credential headers,
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

/// Item 6, as issue 25 restated it: past 20 failures a minute, an address's bad
/// credentials get 429 instead of 401, while a credential that verifies is served from it
/// as from any other address.
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
        .header("X-Master-Key", "guess-20")
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
        .key("sk_live_00000000000000000000000000000000")
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");
    // Valid credentials from the same address are served (issue 25).
    let own = app
        .get("/api/v1/tenant")
        .peer(attacker)
        .key(&tenant.key)
        .send()
        .await;
    own.assert_status(200);
    assert_eq!(own.body["data"]["id"], tenant.id.as_str());
    app.get("/api/v1/tenants")
        .peer(attacker)
        .master()
        .send()
        .await
        .assert_status(200);
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
/// an IPv6 client is one /64; past the limit a wrong key is 429, the right one served.
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
        .json(json!({"api_key": format!("sk_live_{:0>32}", 9)}))
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");
    // The tenant's own key still exchanges from that /64 (issue 25).
    let own = app
        .post("/api/v1/auth/token")
        .peer("[2001:db8:1:2:ffff::1]:443")
        .json(json!({"api_key": tenant.key}))
        .send()
        .await;
    own.assert_status(200);
    assert!(own.body["data"]["access_token"].is_string());
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

/// Spawns `n` copies of a request (built by `request(i)`) at once; their responses in order.
async fn concurrently(
    app: &TestApp,
    n: usize,
    request: impl Fn(usize) -> axum::http::Request<axum::body::Body>,
) -> Vec<Response> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let router = app.router.clone();
            let request = request(i);
            tokio::spawn(async move { send(&router, request).await })
        })
        .collect();
    let mut responses = Vec::with_capacity(n);
    for task in tasks {
        responses.push(task.await.expect("request task"));
    }
    responses
}

/// The tenant's keys as the master key lists them.
async fn keys_of(app: &TestApp, tenant: &Tenant) -> Vec<serde_json::Value> {
    let list = app
        .get(&format!("/api/v1/tenants/{}/api-keys", tenant.id))
        .master()
        .send()
        .await;
    list.assert_status(200);
    list.body["data"].as_array().unwrap().clone()
}

/// Item 7: twelve merge patches without `If-Match`, each touching another field, sent at
/// once: every one applies (serialized on the tenant's row), none is lost; only a stale
/// `If-Match` is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_config_patches_without_if_match_all_apply() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = format!("/api/v1/tenants/{}/config", acme.id);
    let before = app.get(&path).master().send().await;
    before.assert_status(200);
    let stale = before.etag();
    let patches = [
        json!({"force_recording": true}),
        json!({"auto_start_recording": true}),
        json!({"allow_early_join": false}),
        json!({"empty_room_timeout_minutes": 45}),
        json!({"recording_retention_days": 90}),
        json!({"duplicate_participant_policy": "disconnect_existing"}),
        json!({"transcription_enabled": false}),
        json!({"transcription_language": "fr-FR"}),
        json!({"transcription_profanity_filter": true}),
        json!({"transcription_keywords": ["chemistry"]}),
        json!({"allowed_origins": ["https://acme.edu"]}),
        json!({"post_meeting_webhook": {"url": "https://hooks.acme.edu/h"}}),
    ];
    let responses = concurrently(&app, patches.len(), |i| {
        axum::http::Request::patch(path.clone())
            .header("X-Master-Key", MASTER_KEY)
            .header("Content-Type", "application/json")
            .body(axum::body::Body::from(patches[i].to_string()))
            .unwrap()
    })
    .await;
    for (response, patch) in responses.iter().zip(&patches) {
        assert_eq!(response.status, 200, "{patch}: {}", response.text);
    }
    let after = app.get(&path).master().send().await;
    after.assert_status(200);
    let config = &after.body["data"]["config"];
    for patch in &patches {
        let (field, value) = patch.as_object().unwrap().iter().next().unwrap();
        if field == "post_meeting_webhook" {
            assert_eq!(config[field]["url"], value["url"], "{field}");
        } else {
            assert_eq!(&config[field], value, "{field} was lost");
        }
    }
    // Twelve writes, twelve revisions.
    let revision = |etag: &str| etag.trim_matches('"').parse::<i64>().unwrap();
    assert_eq!(revision(&after.etag()), revision(&stale) + 12);

    // The ETag read before them all is stale now: 412, and nothing changes.
    let refused = app
        .patch(&path)
        .master()
        .header("If-Match", &stale)
        .json(json!({"force_recording": false}))
        .send()
        .await;
    refused.assert_error(412, "PRECONDITION_FAILED");
    let unchanged = app.get(&path).master().send().await;
    assert_eq!(unchanged.body["data"]["config"]["force_recording"], true);
    assert_eq!(unchanged.etag(), after.etag());
}

/// Item 9: an extra key with `tenant:admin` — or even every scope — is not the primary
/// key: rotate-key is 403 and nothing rotates.
#[tokio::test]
async fn an_extra_admin_key_cannot_rotate_the_primary_key() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = format!("/api/v1/tenants/{}/rotate-key", acme.id);
    let (admin, _) = app.scoped_key(&acme, &["tenant:admin"]).await;
    let (every, _) = app
        .scoped_key(
            &acme,
            &["tenant:read", "tenant:admin", "rooms:read", "rooms:write"],
        )
        .await;
    let before = keys_of(&app, &acme).await;
    for key in [&admin, &every] {
        let response = app.post(&path).key(key).send().await;
        response.assert_error(403, "FORBIDDEN");
        assert!(
            response.message().contains("primary key"),
            "{}",
            response.text
        );
        assert!(response.body["data"].is_null());
    }
    // Same keys, same primary, none set to expire (`last_used_at` moves: they were used).
    let shape = |keys: &[serde_json::Value]| -> Vec<(serde_json::Value, serde_json::Value, serde_json::Value)> {
        keys.iter()
            .map(|k| (k["id"].clone(), k["primary"].clone(), k["expires_at"].clone()))
            .collect()
    };
    assert_eq!(
        shape(&keys_of(&app, &acme).await),
        shape(&before),
        "nothing rotated"
    );
    let primary: Vec<_> = before.iter().filter(|k| k["primary"] == true).collect();
    assert_eq!(primary.len(), 1);
    assert_eq!(primary[0]["id"], acme.key_id.as_str());
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_status(200);
}

/// Item 9: idempotency records belong to the credential. The primary key's rotation,
/// replayed with the same `Idempotency-Key` by another key of the tenant, is never
/// served to it: a non-primary key is refused, and the new primary key gets a rotation
/// of its own — never the first response and the secret in it.
#[tokio::test]
async fn another_key_replaying_the_primary_keys_idempotency_key_gets_no_replay() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = format!("/api/v1/tenants/{}/rotate-key", acme.id);
    let (every, _) = app
        .scoped_key(
            &acme,
            &["tenant:read", "tenant:admin", "rooms:read", "rooms:write"],
        )
        .await;
    let first = app
        .post(&path)
        .key(&acme.key)
        .header("Idempotency-Key", "rotate-1")
        .send()
        .await;
    first.assert_status(200);
    let first_secret = first.body["data"]["api_key"].as_str().unwrap().to_owned();

    // Another key, holding every scope, with the same key and the same (empty) body.
    let replayed = app
        .post(&path)
        .key(&every)
        .header("Idempotency-Key", "rotate-1")
        .send()
        .await;
    replayed.assert_error(403, "FORBIDDEN");
    assert!(replayed.header("idempotent-replayed").is_none());
    assert!(!replayed.text.contains(&first_secret), "the secret leaked");
    let keys = keys_of(&app, &acme).await;
    let primary: Vec<_> = keys.iter().filter(|k| k["primary"] == true).collect();
    assert_eq!(primary.len(), 1);
    assert_eq!(primary[0]["id"], first.body["data"]["key_id"]);

    // The new primary key, same Idempotency-Key: a request of its own, a new rotation.
    let own = app
        .post(&path)
        .key(&first_secret)
        .header("Idempotency-Key", "rotate-1")
        .send()
        .await;
    own.assert_status(200);
    assert!(own.header("idempotent-replayed").is_none());
    let own_secret = own.body["data"]["api_key"].as_str().unwrap();
    assert_ne!(own_secret, first_secret);
    assert_ne!(own.body["data"]["key_id"], first.body["data"]["key_id"]);
    app.get("/api/v1/tenant")
        .key(own_secret)
        .send()
        .await
        .assert_status(200);
    app.get("/api/v1/tenant")
        .key(&first_secret)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");

    // The first primary key was rotated away: even its own retry is refused at
    // authentication, before any record is looked at.
    app.post(&path)
        .key(&acme.key)
        .header("Idempotency-Key", "rotate-1")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

/// Item 10: twenty rotations at once, each authenticated by the very key they rotate,
/// with no grace: one wins; the others find their key rotated away (401) and hand out
/// nothing. Exactly one primary key is left, and it works.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_with_the_key_being_rotated_rotate_once() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = format!("/api/v1/tenants/{}/rotate-key", acme.id);
    let responses = concurrently(&app, 20, |_| {
        axum::http::Request::post(path.clone())
            .header("X-API-Key", &acme.key)
            .body(axum::body::Body::empty())
            .unwrap()
    })
    .await;
    let winners: Vec<&Response> = responses.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one rotation");
    for loser in responses.iter().filter(|r| r.status != 200) {
        loser.assert_error(401, "UNAUTHORIZED");
        assert!(loser.body["data"].is_null());
    }
    let new_key = winners[0].body["data"]["api_key"].as_str().unwrap();
    let keys = keys_of(&app, &acme).await;
    let primary: Vec<_> = keys.iter().filter(|k| k["primary"] == true).collect();
    assert_eq!(primary.len(), 1, "{keys:?}");
    assert_eq!(primary[0]["id"], winners[0].body["data"]["key_id"]);
    assert_eq!(keys.len(), 1, "the rotated key is gone at once: {keys:?}");
    let me = app.get("/api/v1/tenant").key(new_key).send().await;
    me.assert_status(200);
    assert_eq!(me.body["data"]["id"], acme.id.as_str());
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

/// Item 14: a refresh while the tenant is suspended is 403 and does not spend the token;
/// once resumed, the same token works — once.
#[tokio::test]
async fn a_refresh_while_suspended_leaves_the_chain_intact() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let pair = app.token(&acme.key).await;
    app.post(&format!("/api/v1/tenants/{}/suspend", acme.id))
        .master()
        .send()
        .await
        .assert_status(200);
    for _ in 0..2 {
        app.post("/api/v1/auth/refresh")
            .json(json!({"refresh_token": pair.refresh}))
            .send()
            .await
            .assert_error(403, "TENANT_SUSPENDED");
    }
    app.post(&format!("/api/v1/tenants/{}/resume", acme.id))
        .master()
        .send()
        .await
        .assert_status(200);
    let refreshed = app
        .post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": pair.refresh}))
        .send()
        .await;
    refreshed.assert_status(200);
    let next = crate::common::pair(&refreshed.body);
    assert_ne!(next.refresh, pair.refresh);
    app.get("/api/v1/tenant")
        .bearer(&next.access)
        .send()
        .await
        .assert_status(200);
    // Spent now: a second use is reuse (and revokes the chain).
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": pair.refresh}))
        .send()
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": next.refresh}))
        .send()
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
}

/// Item 2: anonymous callers share no idempotency scope, so they may not send the header
/// at all: 400 naming it, and nothing is created.
#[tokio::test]
async fn an_anonymous_signup_with_an_idempotency_key_is_400() {
    let app = test_app_with(Policy {
        open_registration: true,
        ..Policy::default()
    })
    .await;
    let response = app
        .post("/api/v1/tenants")
        .header("Idempotency-Key", "signup-1")
        .json(json!({"name": "Mallory", "email": "m@example.com"}))
        .send()
        .await;
    response.assert_error(400, "INVALID_REQUEST");
    assert_eq!(response.fields(), ["Idempotency-Key"]);
    assert!(response.body["data"].is_null());
    let list = app.get("/api/v1/tenants").master().send().await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 0);
    // Without the header the same signup goes through.
    app.post("/api/v1/tenants")
        .json(json!({"name": "Mallory", "email": "m@example.com"}))
        .send()
        .await
        .assert_status(201);
    let list = app.get("/api/v1/tenants").master().send().await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
}

/// Item 2: open registration is limited per client address (`registration_rate_limit`
/// an hour); other addresses and the master key are not affected.
#[tokio::test]
async fn open_registration_is_rate_limited_per_client_address() {
    let app = test_app_with(Policy {
        open_registration: true,
        registration_rate_limit: 3,
        ..Policy::default()
    })
    .await;
    // Keep the test inside one hour-long window.
    let now = chrono::Utc::now().timestamp();
    let left = 3600 - now.rem_euclid(3600);
    if left < 15 {
        tokio::time::sleep(std::time::Duration::from_secs(left as u64 + 1)).await;
    }
    let signup = |n: usize| json!({"name": format!("Signup {n}")});
    for n in 0..3 {
        app.post("/api/v1/tenants")
            .peer(&format!("192.0.2.10:{}", 40000 + n))
            .json(signup(n))
            .send()
            .await
            .assert_status(201);
    }
    let refused = app
        .post("/api/v1/tenants")
        .peer("192.0.2.10:41000")
        .json(signup(3))
        .send()
        .await;
    refused.assert_error(429, "RATE_LIMITED");
    assert!(refused.message().contains("signups"), "{}", refused.text);
    let retry_after: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert!(refused.body["data"].is_null());
    // Another address signs up; the master key creates from the limited one.
    app.post("/api/v1/tenants")
        .peer("198.51.100.20:5000")
        .json(signup(4))
        .send()
        .await
        .assert_status(201);
    for n in 5..7 {
        app.post("/api/v1/tenants")
            .peer("192.0.2.10:41001")
            .master()
            .json(signup(n))
            .send()
            .await
            .assert_status(201);
    }
    let list = app.get("/api/v1/tenants").master().send().await;
    let names: Vec<&str> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Signup 0", "Signup 1", "Signup 2", "Signup 4", "Signup 5", "Signup 6"
        ],
        "the refused signup created nothing"
    );
}

/// Item 4: a NUL anywhere in a body's strings is 422 naming the field, on every store
/// (PostgreSQL cannot store one), and nothing is written.
#[tokio::test]
async fn a_nul_character_in_a_body_is_422_naming_the_field() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let cases = [
        (
            app.post("/api/v1/tenants")
                .master()
                .json(json!({"name": "Ev\u{0}il"})),
            "name",
        ),
        (
            app.post("/api/v1/tenants").master().json(json!({
                "name": "Evil",
                "config": {"transcription_keywords": ["a", "b", "c\u{0}"]}
            })),
            "config.transcription_keywords[2]",
        ),
        (
            app.post("/api/v1/tenants")
                .master()
                .json(json!({"name": "Evil", "external_id": "\u{0}"})),
            "external_id",
        ),
        (
            app.patch(&format!("/api/v1/tenants/{}", acme.id))
                .master()
                .json(json!({"email": "a\u{0}@acme.edu"})),
            "email",
        ),
        (
            app.patch(&format!("/api/v1/tenants/{}/config", acme.id))
                .key(&acme.key)
                .json(json!({"transcription_keywords": ["ok", "\u{0}"]})),
            "transcription_keywords[1]",
        ),
        (
            app.patch(&format!("/api/v1/tenants/{}/config", acme.id))
                .key(&acme.key)
                .json(json!({"post_meeting_webhook": {"url": "https://hooks.acme.edu/\u{0}"}})),
            "post_meeting_webhook.url",
        ),
        (
            app.post(&format!("/api/v1/tenants/{}/api-keys", acme.id))
                .master()
                .json(json!({"name": "k\u{0}", "scopes": ["tenant:read"]})),
            "name",
        ),
        (
            app.post("/api/v1/rooms/cs101/participants")
                .key(&acme.key)
                .json(json!({"display_name": "Alice\u{0}", "role": "participant"})),
            "display_name",
        ),
        (
            app.post("/api/v1/auth/token")
                .json(json!({"api_key": format!("{}\u{0}", acme.key)})),
            "api_key",
        ),
        (
            app.post("/api/v1/auth/refresh")
                .json(json!({"refresh_token": "\u{0}"})),
            "refresh_token",
        ),
        // A key with a NUL is named with it escaped.
        (
            app.post("/api/v1/tenants")
                .master()
                .json(json!({"name": "Evil", "na\u{0}me": "x"})),
            "na\\u0000me",
        ),
    ];
    for (call, field) in cases {
        let response = call.send().await;
        response.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(response.fields(), [field], "{}", response.text);
        assert!(response.message().contains("NUL"), "{}", response.text);
    }
    // Nothing was written: one tenant, its config and key list untouched, no room.
    let list = app.get("/api/v1/tenants").master().send().await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    let tenant = app.read_tenant(&acme.id).await;
    assert!(tenant.body["data"]["email"].is_null(), "{}", tenant.text);
    let config = app
        .get(&format!("/api/v1/tenants/{}/config", acme.id))
        .master()
        .send()
        .await;
    assert_eq!(
        config.body["data"]["config"]["transcription_keywords"],
        json!([])
    );
    assert!(config.body["data"]["config"]["post_meeting_webhook"].is_null());
    assert_eq!(keys_of(&app, &acme).await.len(), 1);
    let rooms = app.get("/api/v1/rooms").key(&acme.key).send().await;
    rooms.assert_status(200);
    assert_eq!(rooms.body["data"].as_array().unwrap().len(), 0);
}

/// Item 4: `%00` in a path id names nothing (404); in a query parameter it is 400 naming
/// the parameter. Identical on every store, and nothing is touched.
#[tokio::test]
async fn a_nul_character_in_a_path_is_404_and_in_a_query_400() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let id = &acme.id;
    let key_id = &acme.key_id;
    for response in [
        app.get(&format!("/api/v1/tenants/{id}%00"))
            .master()
            .send()
            .await,
        app.get("/api/v1/tenants/%00").master().send().await,
        app.patch(&format!("/api/v1/tenants/{id}%00"))
            .master()
            .json(json!({"name": "X"}))
            .send()
            .await,
        app.delete(&format!("/api/v1/tenants/{id}%00"))
            .master()
            .send()
            .await,
        app.get(&format!("/api/v1/tenants/{id}%00/config"))
            .master()
            .send()
            .await,
        app.post(&format!("/api/v1/tenants/{id}%00/suspend"))
            .master()
            .send()
            .await,
        app.delete(&format!("/api/v1/tenants/{id}/api-keys/{key_id}%00"))
            .master()
            .send()
            .await,
        app.get("/api/v1/rooms/cs%00101")
            .key(&acme.key)
            .send()
            .await,
        app.post("/api/v1/rooms/cs101%00/participants")
            .key(&acme.key)
            .json(json!({"display_name": "Alice", "role": "participant"}))
            .send()
            .await,
    ] {
        response.assert_error(404, "NOT_FOUND");
    }
    for (path, field) in [
        ("/api/v1/tenants?external_id=a%00b", "external_id"),
        ("/api/v1/tenants?limit=1&cursor=%00", "cursor"),
        ("/api/v1/tenants?status%00=active", "status\\u0000"),
    ] {
        let response = app.get(path).master().send().await;
        response.assert_error(400, "INVALID_REQUEST");
        assert_eq!(response.fields(), [field], "{path}");
    }
    let rooms = app
        .get("/api/v1/rooms?cursor=%00")
        .key(&acme.key)
        .send()
        .await;
    rooms.assert_error(400, "INVALID_REQUEST");
    assert_eq!(rooms.fields(), ["cursor"]);
    // The tenant and its key are untouched; no room was opened.
    let tenant = app.read_tenant(id).await;
    tenant.assert_status(200);
    assert_eq!(tenant.body["data"]["status"], "active");
    assert_eq!(tenant.body["data"]["name"], "Acme");
    assert_eq!(keys_of(&app, &acme).await.len(), 1);
    let rooms = app.get("/api/v1/rooms").key(&acme.key).send().await;
    assert_eq!(rooms.body["data"].as_array().unwrap().len(), 0);
}

/// Rows of a table, by a text column, as the store holds them now.
async fn column(app: &TestApp, sql: &'static str) -> Vec<String> {
    let mut db = app.state.store.read().await.unwrap();
    let rows = sqlx::query(sql)
        .fetch_all(db.conn().unwrap())
        .await
        .unwrap();
    let mut values: Vec<String> = rows
        .iter()
        .map(|row| sqlx::Row::get::<String, _>(row, 0))
        .collect();
    values.sort();
    values
}

/// Item 11: the housekeeping purge deletes idempotency records past 24 h and refresh
/// tokens past their expiry — and nothing that is still live.
#[tokio::test]
async fn the_purge_removes_expired_records_and_keeps_live_ones() {
    use chalk_server::store::{IdempotencyReservation, NewRefreshToken, idempotency, refresh};
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let t = chrono::Utc::now().timestamp();

    // Live rows, made through the API: an idempotent create, and a refresh chain whose
    // first token is spent (but not expired) and whose second is unused.
    app.post("/api/v1/tenants")
        .master()
        .header("Idempotency-Key", "live")
        .json(json!({"name": "Live"}))
        .send()
        .await
        .assert_status(201);
    let first = app.token(&acme.key).await;
    let refreshed = app
        .post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": first.refresh}))
        .send()
        .await;
    refreshed.assert_status(200);
    let second = crate::common::pair(&refreshed.body);

    // Old rows, written straight to the store with past timestamps: a record 24 h and a
    // minute old, and a refresh token that expired a minute ago.
    let mut db = app.state.store.begin().await.unwrap();
    idempotency::reserve(
        &mut db,
        &IdempotencyReservation {
            scope: "master".into(),
            key: "old".into(),
            request_hash: "h".into(),
            tenant_id: None,
            now: t - 86_400 - 60,
            expired_before: t - 2 * 86_400,
        },
    )
    .await
    .unwrap();
    idempotency::complete(&mut db, "master", "old", 201, "sealed")
        .await
        .unwrap();
    refresh::insert(
        &mut db,
        &NewRefreshToken {
            token_hash: "expired-token-hash".into(),
            family_id: "fam_old".into(),
            tenant_id: acme.id.clone(),
            key_id: acme.key_id.clone(),
            created_at: t - 3600,
            expires_at: t - 60,
        },
    )
    .await
    .unwrap();
    db.commit().await.unwrap();
    let idem_keys = "SELECT idem_key FROM idempotency_keys";
    let families = "SELECT family_id FROM refresh_tokens";
    assert_eq!(column(&app, idem_keys).await, ["live", "old"]);
    assert_eq!(column(&app, families).await.len(), 3);

    let purged = chalk_server::workers::housekeeping::purge(&app.state, t)
        .await
        .unwrap();
    assert_eq!(purged.idempotency_records, 1);
    assert_eq!(purged.refresh_tokens, 1);
    assert_eq!(column(&app, idem_keys).await, ["live"]);
    let live_families = column(&app, families).await;
    assert_eq!(live_families.len(), 2, "the spent and the live token stay");
    assert!(!live_families.contains(&"fam_old".to_owned()));
    // What stayed still works: the live record replays, the live token refreshes.
    let replay = app
        .post("/api/v1/tenants")
        .master()
        .header("Idempotency-Key", "live")
        .json(json!({"name": "Live"}))
        .send()
        .await;
    replay.assert_status(201);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));

    // A purge past the refresh tokens' lifetime (30 days) leaves nothing.
    let later = t + app.state.policy.refresh_token_ttl + 1;
    let purged = chalk_server::workers::housekeeping::purge(&app.state, later)
        .await
        .unwrap();
    assert_eq!(purged.idempotency_records, 1);
    assert_eq!(purged.refresh_tokens, 2);
    assert!(column(&app, idem_keys).await.is_empty());
    assert!(column(&app, families).await.is_empty());
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": second.refresh}))
        .send()
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
}

/// Item 11: the periodic task runs the purge on its own.
#[tokio::test]
async fn the_housekeeping_task_purges_periodically() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let t = chrono::Utc::now().timestamp();
    let mut db = app.state.store.begin().await.unwrap();
    chalk_server::store::refresh::insert(
        &mut db,
        &chalk_server::store::NewRefreshToken {
            token_hash: "expired-token-hash".into(),
            family_id: "fam_old".into(),
            tenant_id: acme.id.clone(),
            key_id: acme.key_id.clone(),
            created_at: t - 3600,
            expires_at: t - 60,
        },
    )
    .await
    .unwrap();
    db.commit().await.unwrap();
    let families = "SELECT family_id FROM refresh_tokens";
    assert_eq!(column(&app, families).await, ["fam_old"]);
    let task = chalk_server::workers::housekeeping::spawn(
        app.state.core.clone(),
        std::time::Duration::from_millis(50),
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !column(&app, families).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the task did not purge within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    task.abort();
}

/// Item 11: `/auth/token` writes a refresh token per call, so a valid key's exchanges
/// count against its tenant's rate limit like any request made with the key.
#[tokio::test]
async fn token_exchanges_count_against_the_tenants_rate_limit() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "rate_limit_per_minute": 3}))
        .await;
    fresh_window(15).await;
    for remaining in ["2", "1", "0"] {
        let response = app
            .post("/api/v1/auth/token")
            .json(json!({"api_key": acme.key}))
            .send()
            .await;
        response.assert_status(200);
        assert_eq!(response.header("ratelimit-limit"), Some("3"));
        assert_eq!(response.header("ratelimit-remaining"), Some(remaining));
    }
    let refused = app
        .post("/api/v1/auth/token")
        .json(json!({"api_key": acme.key}))
        .send()
        .await;
    refused.assert_error(429, "RATE_LIMITED");
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(refused.body["data"].is_null());
    // Three exchanges, three refresh tokens: the refused one wrote nothing.
    assert_eq!(
        column(&app, "SELECT family_id FROM refresh_tokens")
            .await
            .len(),
        3
    );
    // One budget: the key itself is out of requests too.
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");
}
