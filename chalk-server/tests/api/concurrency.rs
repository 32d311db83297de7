//! Invariants under concurrency: single-use refresh tokens, one primary key, one tenant
//! per Idempotency-Key, one winner per If-Match.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::common::*;

/// Awaits spawned tasks (they already run concurrently) in order.
async fn join_all<T>(
    tasks: impl IntoIterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let tasks: Vec<_> = tasks.into_iter().collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await);
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_refreshes_of_one_token_have_exactly_one_winner() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let pair = app.token(&acme.key).await;
    let attempts = (0..50).map(|_| {
        let router = app.router.clone();
        let token = pair.refresh.clone();
        tokio::spawn(async move {
            let request = axum::http::Request::post("/api/v1/auth/refresh")
                .header("Content-Type", "application/json")
                .body(axum::body::Body::from(
                    json!({ "refresh_token": token }).to_string(),
                ))
                .unwrap();
            send(&router, request).await
        })
    });
    let responses: Vec<Response> = join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners: Vec<&Response> = responses.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one refresh succeeds");
    for loser in responses.iter().filter(|r| r.status != 200) {
        loser.assert_error(401, "INVALID_REFRESH_TOKEN");
    }
    // The losers presented a used token: reuse detection revoked the chain, so the
    // winner's successor is dead too.
    let successor = pair_of(winners[0]);
    app.post("/api/v1/auth/refresh")
        .json(json!({ "refresh_token": successor }))
        .send()
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
}

fn pair_of(response: &Response) -> String {
    response.body["data"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Ten simultaneous rotations (no grace period) all succeed, one after another in the
/// store. Afterwards the tenant has exactly one primary key — the one the last committed
/// rotation returned — and of all the keys handed out, only that one still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_leave_exactly_one_working_primary_key() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = format!("/api/v1/tenants/{}/rotate-key", acme.id);
    let rotations = (0..10).map(|_| {
        let router = app.router.clone();
        let path = path.clone();
        tokio::spawn(async move {
            let request = axum::http::Request::post(path)
                .header("X-Master-Key", MASTER_KEY)
                .body(axum::body::Body::empty())
                .unwrap();
            send(&router, request).await
        })
    });
    let responses: Vec<Response> = join_all(rotations)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let mut issued = Vec::new();
    for response in &responses {
        response.assert_status(200);
        issued.push((
            response.body["data"]["api_key"]
                .as_str()
                .unwrap()
                .to_owned(),
            response.body["data"]["key_id"].as_str().unwrap().to_owned(),
        ));
    }
    let keys = app
        .get(&format!("/api/v1/tenants/{}/api-keys", acme.id))
        .master()
        .send()
        .await;
    let keys: Vec<Value> = keys.body["data"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1, "every rotated-away key is revoked: {keys:?}");
    assert_eq!(keys[0]["primary"], true);
    let primary_id = keys[0]["id"].as_str().unwrap();
    let mut working = Vec::new();
    for (secret, key_id) in issued
        .iter()
        .chain([&(acme.key.clone(), acme.key_id.clone())])
    {
        let response = app.get("/api/v1/tenant").key(secret).send().await;
        if response.status == 200 {
            working.push(key_id.clone());
        } else {
            response.assert_error(401, "UNAUTHORIZED");
        }
    }
    assert_eq!(
        working,
        [primary_id.to_owned()],
        "only the current primary works"
    );
    let distinct: HashSet<&String> = issued.iter().map(|(s, _)| s).collect();
    assert_eq!(distinct.len(), 10, "every rotation issued its own key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_with_one_idempotency_key_make_one_tenant() {
    let app = test_app().await;
    let creates = (0..20).map(|_| {
        let router = app.router.clone();
        tokio::spawn(async move {
            let request = axum::http::Request::post("/api/v1/tenants")
                .header("X-Master-Key", MASTER_KEY)
                .header("Idempotency-Key", "one-tenant-please")
                .header("Content-Type", "application/json")
                .body(axum::body::Body::from(json!({"name": "Acme"}).to_string()))
                .unwrap();
            send(&router, request).await
        })
    });
    let responses: Vec<Response> = join_all(creates)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created: Vec<&Response> = responses.iter().filter(|r| r.status == 201).collect();
    assert!(!created.is_empty());
    for response in &responses {
        if response.status != 201 {
            // Still in progress when this retry arrived: a conflict to retry, never a second tenant.
            response.assert_error(409, "CONFLICT");
        }
    }
    let ids: HashSet<&str> = created
        .iter()
        .map(|r| r.body["data"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "every success names the same tenant");
    let list = app.get("/api/v1/tenants").master().send().await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    // A retry after the dust settles replays it.
    let retry = app
        .post("/api/v1/tenants")
        .master()
        .header("Idempotency-Key", "one-tenant-please")
        .json(json!({"name": "Acme"}))
        .send()
        .await;
    retry.assert_status(201);
    assert_eq!(retry.body, created[0].body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_with_one_if_match_have_one_winner() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let etag = app.read_tenant(&acme.id).await.etag();
    let path = format!("/api/v1/tenants/{}/config", acme.id);
    let patches = (0..10).map(|n| {
        let router = app.router.clone();
        let path = path.clone();
        let etag = etag.clone();
        tokio::spawn(async move {
            let request = axum::http::Request::patch(path)
                .header("X-Master-Key", MASTER_KEY)
                .header("If-Match", etag)
                .header("Content-Type", "application/json")
                .body(axum::body::Body::from(
                    json!({"transcription_keywords": [format!("writer-{n}")]}).to_string(),
                ))
                .unwrap();
            (n, send(&router, request).await)
        })
    });
    let responses: Vec<(usize, Response)> = join_all(patches)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners: Vec<usize> = responses
        .iter()
        .filter(|(_, r)| r.status == 200)
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(winners.len(), 1);
    for (_, response) in responses.iter().filter(|(_, r)| r.status != 200) {
        response.assert_error(412, "PRECONDITION_FAILED");
    }
    let read = app.get(&path).master().send().await;
    assert_eq!(
        read.body["data"]["config"]["transcription_keywords"],
        json!([format!("writer-{}", winners[0])])
    );
}
