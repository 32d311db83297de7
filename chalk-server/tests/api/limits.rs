//! Issue 25, "Limits on every path": every request counts against a limit whatever its
//! outcome — `/auth/refresh` against its tenant's, a participant's renewal by refresh
//! token against that participant's, a request refused for its `Origin` or for a suspended
//! tenant against the tenant's — and refusals leave a bounded audit trail: one denial entry
//! per credential and reason a minute, with the count of the refusals it stands for.
//! `allowed_origins` applies to the token endpoints too, and CORS never names a refused
//! origin.

use chalk_server::Policy;
use serde_json::{Value, json};

use crate::common::*;

const EVIL: &str = "https://evil.example";
const APP: &str = "https://app.acme.edu";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Denied entries of `tenant_id`, oldest first.
async fn denials(app: &TestApp, tenant_id: &str) -> Vec<Value> {
    audit_entries(app, &format!("&tenant_id={tenant_id}"))
        .await
        .into_iter()
        .filter(|e| e["outcome"] == "denied")
        .collect()
}

/// Refresh tokens the store holds.
async fn refresh_tokens(app: &TestApp) -> i64 {
    let mut db = app.state.store.read().await.unwrap();
    let row = sqlx::query("SELECT COUNT(*) AS n FROM refresh_tokens")
        .fetch_one(db.conn().unwrap())
        .await
        .unwrap();
    sqlx::Row::get(&row, "n")
}

#[tokio::test]
async fn a_refresh_counts_against_its_tenants_limit_and_past_it_spends_nothing() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "rate_limit_per_minute": 3}))
        .await;
    fresh_window(15).await;
    let mut pair = app.token(&acme.key).await;
    for remaining in ["1", "0"] {
        let response = app
            .post("/api/v1/auth/refresh")
            .json(json!({"refresh_token": pair.refresh}))
            .send()
            .await;
        response.assert_status(200);
        assert_eq!(response.header("ratelimit-limit"), Some("3"));
        assert_eq!(response.header("ratelimit-remaining"), Some(remaining));
        pair = crate::common::pair(&response.body);
    }
    let tokens = refresh_tokens(&app).await;
    let limited = app
        .post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": pair.refresh}))
        .send()
        .await;
    limited.assert_error(429, "RATE_LIMITED");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(limited.body["data"].is_null());
    assert_eq!(refresh_tokens(&app).await, tokens, "nothing was written");
    // One budget: the key is out of requests too.
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");
    // The refused refresh did not spend its token.
    app.patch(&format!("/api/v1/tenants/{}", acme.id))
        .master()
        .json(json!({"rate_limit_per_minute": 10}))
        .send()
        .await
        .assert_status(200);
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": pair.refresh}))
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_participants_renewal_by_refresh_token_counts_against_its_own_limit() {
    let app = test_app_with(Policy {
        participant_rate_limit: 3,
        ..Policy::default()
    })
    .await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "rate_limit_per_minute": 100}))
        .await;
    fresh_window(15).await;
    let joined = app
        .post("/api/v1/rooms/cs101/participants")
        .key(&acme.key)
        .json(json!({"display_name": "Alice"}))
        .send()
        .await;
    joined.assert_status(201);
    let pid = joined.body["data"]["participant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/rooms/cs101/participants/{pid}/token");
    let mut refresh = joined.body["data"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for remaining in ["2", "1", "0"] {
        let renewed = app
            .post(&path)
            .json(json!({ "refresh_token": refresh }))
            .send()
            .await;
        renewed.assert_status(200);
        assert_eq!(renewed.header("ratelimit-limit"), Some("3"));
        assert_eq!(renewed.header("ratelimit-remaining"), Some(remaining));
        refresh = renewed.body["data"]["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    let limited = app
        .post(&path)
        .json(json!({ "refresh_token": refresh }))
        .send()
        .await;
    limited.assert_error(429, "RATE_LIMITED");
    assert!(limited.header("retry-after").is_some());
    // Three renewals, three entries: the refused one wrote nothing.
    let renewals = audit_entries(&app, "&action=participant.renew_tokens").await;
    assert_eq!(renewals.len(), 3);
    assert!(renewals.iter().all(|e| e["outcome"] == "succeeded"));
    // The tenant's own budget is its own: one join of a hundred.
    let own = app.get("/api/v1/tenant").key(&acme.key).send().await;
    own.assert_status(200);
    assert_eq!(own.header("ratelimit-remaining"), Some("98"));
}

#[tokio::test]
async fn refused_origins_count_against_the_tenant_and_are_audited_once_a_minute() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({
            "name": "Acme",
            "rate_limit_per_minute": 5,
            "config": {"allowed_origins": [APP]}
        }))
        .await;
    fresh_window(15).await;
    let from_evil = || {
        app.get("/api/v1/tenant")
            .key(&acme.key)
            .header("Origin", EVIL)
    };
    for remaining in ["4", "3", "2", "1", "0"] {
        let refused = from_evil().send().await;
        refused.assert_error(403, "FORBIDDEN");
        assert!(refused.message().contains(EVIL), "{}", refused.text);
        assert_eq!(refused.header("ratelimit-remaining"), Some(remaining));
        assert!(refused.header("access-control-allow-origin").is_none());
    }
    let limited = from_evil().send().await;
    limited.assert_error(429, "RATE_LIMITED");
    assert!(limited.header("access-control-allow-origin").is_none());
    // The allowed origin is out of budget too: the refusals were not free.
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .header("Origin", APP)
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");

    // Five refusals, one entry so far; the other four come as one entry once the minute
    // is over.
    let entries = denials(&app, &acme.id).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["count"], 1);
    assert_eq!(entries[0]["actor"]["id"], acme.key_id.as_str());
    assert_eq!(entries[0]["action"], "tenant.read");
    app.state
        .denials
        .write_due(&app.state.store, now() + 61)
        .await;
    let entries = denials(&app, &acme.id).await;
    let counts: Vec<&Value> = entries.iter().map(|e| &e["count"]).collect();
    assert_eq!(counts, [&json!(1), &json!(4)]);
    // Written once: nothing is held back any more.
    app.state
        .denials
        .write_due(&app.state.store, now() + 200)
        .await;
    assert_eq!(denials(&app, &acme.id).await.len(), 2);
}

#[tokio::test]
async fn a_suspended_tenants_refusals_count_against_it_and_are_audited_once_a_minute() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "rate_limit_per_minute": 5}))
        .await;
    fresh_window(15).await;
    // One exchange of the five, before the suspension; the four refusals spend the rest.
    let pair = app.token(&acme.key).await;
    app.post(&format!("/api/v1/tenants/{}/suspend", acme.id))
        .master()
        .send()
        .await
        .assert_status(200);
    let mut refusals = 0;
    for call in [
        app.get("/api/v1/tenant").key(&acme.key),
        app.get("/api/v1/tenant").key(&acme.key),
        app.get("/api/v1/tenant").bearer(&pair.access),
        app.post("/api/v1/auth/token")
            .json(json!({"api_key": acme.key})),
    ] {
        call.send().await.assert_error(403, "TENANT_SUSPENDED");
        refusals += 1;
    }
    assert_eq!(refusals, 4);
    for _ in 0..20 {
        app.get("/api/v1/tenant")
            .key(&acme.key)
            .send()
            .await
            .assert_error(429, "RATE_LIMITED");
    }
    app.post("/api/v1/auth/token")
        .json(json!({"api_key": acme.key}))
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");
    // One entry per credential and reason: the API key's first refusal, the access
    // token's, the exchange's; the key's second is held back.
    let entries = denials(&app, &acme.id).await;
    let seen: Vec<(&str, &str, &Value)> = entries
        .iter()
        .map(|e| {
            (
                e["actor"]["type"].as_str().unwrap(),
                e["action"].as_str().unwrap(),
                &e["count"],
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("api_key", "tenant.read", &json!(1)),
            ("access_token", "tenant.read", &json!(1)),
            ("api_key", "auth.token", &json!(1)),
        ]
    );
    assert!(
        entries
            .iter()
            .all(|e| e["actor"]["id"] == acme.key_id.as_str())
    );
    app.state
        .denials
        .write_due(&app.state.store, now() + 61)
        .await;
    let entries = denials(&app, &acme.id).await;
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[3]["count"], 1);
    assert_eq!(entries[3]["action"], "tenant.read");
}

#[tokio::test]
async fn allowed_origins_apply_to_the_token_endpoints() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "config": {"allowed_origins": [APP]}}))
        .await;
    let tokens_before = refresh_tokens(&app).await;
    let refused = app
        .post("/api/v1/auth/token")
        .header("Origin", EVIL)
        .json(json!({"api_key": acme.key}))
        .send()
        .await;
    refused.assert_error(403, "FORBIDDEN");
    assert!(refused.message().contains(EVIL), "{}", refused.text);
    assert!(refused.header("access-control-allow-origin").is_none());
    assert!(refused.body["data"].is_null());
    assert_eq!(refresh_tokens(&app).await, tokens_before, "no token minted");

    // The allowed origin, and servers that send none, exchange as before.
    let allowed = app
        .post("/api/v1/auth/token")
        .header("Origin", APP)
        .json(json!({"api_key": acme.key}))
        .send()
        .await;
    allowed.assert_status(200);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(APP));
    let pair = app.token(&acme.key).await;

    let refused = app
        .post("/api/v1/auth/refresh")
        .header("Origin", EVIL)
        .json(json!({"refresh_token": pair.refresh}))
        .send()
        .await;
    refused.assert_error(403, "FORBIDDEN");
    assert!(refused.header("access-control-allow-origin").is_none());
    // The refused refresh did not spend the token.
    let renewed = app
        .post("/api/v1/auth/refresh")
        .header("Origin", APP)
        .json(json!({"refresh_token": pair.refresh}))
        .send()
        .await;
    renewed.assert_status(200);
    assert_eq!(renewed.header("access-control-allow-origin"), Some(APP));

    let entries = denials(&app, &acme.id).await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["auth.token", "auth.refresh"]);
    assert!(
        entries
            .iter()
            .all(|e| e["actor"]["id"] == acme.key_id.as_str() && e["count"] == 1)
    );
}

#[tokio::test]
async fn a_revocation_counts_against_its_tenant_but_is_never_refused_for_it() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "rate_limit_per_minute": 3}))
        .await;
    fresh_window(15).await;
    let first = app.token(&acme.key).await;
    let second = app.token(&acme.key).await;
    let revoked = app
        .post("/api/v1/auth/revoke")
        .json(json!({"token": first.refresh}))
        .send()
        .await;
    revoked.assert_status(200);
    assert_eq!(revoked.header("ratelimit-remaining"), Some("0"));
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_error(429, "RATE_LIMITED");
    // Past the limit, a session can still be ended.
    let past = app
        .post("/api/v1/auth/revoke")
        .json(json!({"token": second.refresh}))
        .send()
        .await;
    past.assert_status(200);
    assert_eq!(past.body["data"]["revoked"], true);
    assert_eq!(past.header("ratelimit-remaining"), Some("0"));
    app.patch(&format!("/api/v1/tenants/{}", acme.id))
        .master()
        .json(json!({"rate_limit_per_minute": 10}))
        .send()
        .await
        .assert_status(200);
    for pair in [&first, &second] {
        app.post("/api/v1/auth/refresh")
            .json(json!({"refresh_token": pair.refresh}))
            .send()
            .await
            .assert_error(401, "INVALID_REFRESH_TOKEN");
    }
}
