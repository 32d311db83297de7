//! Creates are safe to retry: the SDK sends an `Idempotency-Key` of its own, so a
//! response lost on the way back never leaves a second tenant behind.

use std::time::Duration;

use chalk_sdk::model::{CreateTenantRequest, ErrorCode, RotateKeyRequest};
use chalk_sdk::{Client, RetryPolicy};

use crate::common::{MASTER_KEY, TestServer};
use crate::support::{Proxy, master, with_key};

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_retried_and_creates_one_tenant() {
    let server = TestServer::start().await;
    let proxy = Proxy::start(&server).await;
    let client = Client::builder()
        .base_url(&proxy.base_url)
        .master_key(MASTER_KEY)
        .retry_policy(quick_retries())
        .build()
        .unwrap();

    // The server creates the tenant; the client is told 502.
    proxy.lose_next_response("POST", "/api/v1/tenants", 502);
    let created = client
        .tenants()
        .create(&CreateTenantRequest::new("Retried Co"))
        .await
        .unwrap();

    let attempts = proxy.seen_at("POST", "/api/v1/tenants");
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0].status, 502);
    assert_eq!(attempts[1].status, 201);
    let key = attempts[0]
        .idempotency_key
        .clone()
        .expect("an idempotency key");
    assert_eq!(attempts[1].idempotency_key.as_ref(), Some(&key));

    // One tenant, the one returned, and the key replayed to us works.
    let all = master(&server)
        .tenants()
        .list(&Default::default())
        .await
        .unwrap();
    assert_eq!(all.data.len(), 1);
    assert_eq!(all.data[0].id, created.tenant.id);
    let tenant = with_key(&server, &created.api_key);
    assert_eq!(
        tenant.tenants().current().await.unwrap().id,
        created.tenant.id
    );
}

#[tokio::test]
async fn a_rotation_whose_answer_was_lost_rotates_once() {
    let server = TestServer::start().await;
    let created = crate::support::create_tenant(&server, "Rotate Retry Co").await;
    let proxy = Proxy::start(&server).await;
    let client = Client::builder()
        .base_url(&proxy.base_url)
        .master_key(MASTER_KEY)
        .retry_policy(quick_retries())
        .build()
        .unwrap();
    let path = format!("/api/v1/tenants/{}/rotate-key", created.tenant.id);
    proxy.lose_next_response("POST", &path, 503);

    let rotated = client
        .tenants()
        .rotate_key(&created.tenant.id, &RotateKeyRequest::default())
        .await
        .unwrap();
    assert_eq!(proxy.seen_at("POST", &path).len(), 2);
    // Had the retry rotated again, the key we were given would already be dead.
    let holder = with_key(&server, &rotated.api_key);
    assert_eq!(
        holder.tenants().current().await.unwrap().id,
        created.tenant.id
    );
}

#[tokio::test]
async fn the_callers_idempotency_key_replays_across_clients_and_refuses_another_body() {
    let server = TestServer::start().await;
    let request = CreateTenantRequest {
        email: Some("ci@acme.edu".into()),
        ..CreateTenantRequest::new("CI Co")
    };
    // Two separate processes (here: clients) of a re-run CI job.
    let first = master(&server)
        .tenants()
        .create_with_idempotency_key(&request, "ci-job-4711")
        .await
        .unwrap();
    let again = master(&server)
        .tenants()
        .create_with_idempotency_key(&request, "ci-job-4711")
        .await
        .unwrap();
    assert_eq!(again.tenant.id, first.tenant.id);
    assert_eq!(again.api_key, first.api_key);

    let other = CreateTenantRequest::new("Another Co");
    let err = master(&server)
        .tenants()
        .create_with_idempotency_key(&other, "ci-job-4711")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Conflict));
    let all = master(&server)
        .tenants()
        .list(&Default::default())
        .await
        .unwrap();
    assert_eq!(all.data.len(), 1);
}
