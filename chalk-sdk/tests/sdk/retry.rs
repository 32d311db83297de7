//! Retries: only safe requests, only retryable failures, with backoff and Retry-After.

use std::time::{Duration, Instant};

use chalk_sdk::model::{CreateTenantRequest, ErrorCode, UpdateTenantRequest};
use chalk_sdk::{Error, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

fn created_tenant() -> serde_json::Value {
    let mut created = fixture("tenant.json");
    created["api_key"] = json!("sk_live_x");
    created["key_id"] = json!("key_1");
    data(created)
}

#[tokio::test]
async fn a_get_is_retried_after_a_503_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenant"))
        .respond_with(ResponseTemplate::new(503).set_body_json(error_body("UNAVAILABLE", "busy")))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenant"))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let tenant = master(&server).tenants().current().await.unwrap();
    assert_eq!(tenant.id, "tenant_abc123");
}

#[tokio::test]
async fn retries_are_exhausted_and_the_last_error_returned() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_json(error_body("INTERNAL", "boom")))
        .expect(4) // the first attempt and 3 retries
        .mount(&server)
        .await;
    let err = master(&server).tenants().current().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Internal));
    assert_eq!(err.status(), Some(500));
}

#[tokio::test]
async fn backoff_waits_between_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .expect(3)
        .mount(&server)
        .await;
    let client = builder(&server)
        .retry_policy(RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        })
        .build()
        .unwrap();
    let started = Instant::now();
    client.tenants().current().await.unwrap_err();
    // At least half of 100 ms, then half of 200 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_timeout_is_retried_for_a_get() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_json(data(fixture("tenant.json"))),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    client.tenants().current().await.unwrap();
}

#[tokio::test]
async fn a_create_is_retried_with_the_same_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants"))
        .respond_with(ResponseTemplate::new(503).set_body_json(error_body("UNAVAILABLE", "busy")))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants"))
        .respond_with(ResponseTemplate::new(201).set_body_json(created_tenant()))
        .expect(1)
        .mount(&server)
        .await;
    master(&server)
        .tenants()
        .create(&CreateTenantRequest::new("Acme"))
        .await
        .unwrap();
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].headers["idempotency-key"],
        sent[1].headers["idempotency-key"]
    );
    assert_eq!(sent[0].body, sent[1].body);
}

#[tokio::test]
async fn a_rotate_key_with_the_callers_key_is_retried_with_that_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_json(error_body("INTERNAL", "boom")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(json!({
            "api_key": "sk_live_x", "key_id": "key_rot", "previous_key_expires_at": null
        }))))
        .mount(&server)
        .await;
    master(&server)
        .tenants()
        .rotate_key_with_idempotency_key("tenant_abc123", &Default::default(), "mine")
        .await
        .unwrap();
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    for request in sent {
        assert_eq!(request.headers["idempotency-key"], "mine");
    }
}

#[tokio::test]
async fn requests_without_idempotency_key_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants/tenant_abc123/suspend"))
        .respond_with(ResponseTemplate::new(503).set_body_json(error_body("UNAVAILABLE", "busy")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(500).set_body_json(error_body("INTERNAL", "boom")))
        .expect(1)
        .mount(&server)
        .await;
    let client = master(&server);
    let tenants = client.tenants();
    let err = tenants.suspend("tenant_abc123").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unavailable));
    let err = tenants
        .update("tenant_abc123", &UpdateTenantRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    let err = tenants.delete("tenant_abc123").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Internal));
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    let server = MockServer::start().await;
    let client = master(&server);
    for (status, code) in [
        (400, "INVALID_REQUEST"),
        (401, "UNAUTHORIZED"),
        (403, "FORBIDDEN"),
        (404, "NOT_FOUND"),
        (409, "CONFLICT"),
        (412, "PRECONDITION_FAILED"),
        (422, "VALIDATION_ERROR"),
    ] {
        server.reset().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).set_body_json(error_body(code, "no")))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).set_body_json(error_body(code, "no")))
            .expect(1)
            .mount(&server)
            .await;
        let err = client.tenants().current().await.unwrap_err();
        assert_eq!(err.status(), Some(status));
        assert!(!err.is_retryable());
        let err = client
            .tenants()
            .create(&CreateTenantRequest::new("Acme"))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(status));
        server.verify().await;
    }
}

#[tokio::test]
async fn a_429_waits_as_long_as_retry_after_says() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(error_body(
                    "RATE_LIMITED",
                    "Rate limit exceeded; retry in 1 s",
                )),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json"))))
        .expect(1)
        .mount(&server)
        .await;
    // The backoff alone would be a few milliseconds.
    let started = Instant::now();
    master(&server).tenants().current().await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
}

#[tokio::test]
async fn a_429_without_retries_carries_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "17")
                .set_body_json(error_body("RATE_LIMITED", "slow down")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.tenants().current().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::RateLimited));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(17)));
    assert!(err.is_retryable());
    assert!(matches!(err, Error::Api { status: 429, .. }));
}
