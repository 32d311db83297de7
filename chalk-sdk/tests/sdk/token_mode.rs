//! Token mode: exchange on first use, refresh before expiry and on TOKEN_EXPIRED, one
//! refresh however many tasks, fallback to a new exchange.

use std::time::Duration;

use chalk_sdk::Client;
use chalk_sdk::model::ErrorCode;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

fn token_client(server: &MockServer) -> Client {
    builder(server)
        .api_key(API_KEY)
        .token_mode(true)
        .build()
        .unwrap()
}

async fn mount_exchange(server: &MockServer, access: &str, refresh: &str, expires_in: i64) {
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/token"))
        .and(body_json(json!({"api_key": API_KEY})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(token_pair(access, refresh, expires_in)),
        )
        .expect(1)
        .mount(server)
        .await;
}

fn tenant_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json")))
}

fn token_expired() -> ResponseTemplate {
    ResponseTemplate::new(401)
        .set_body_json(error_body("TOKEN_EXPIRED", "Access token has expired"))
}

#[tokio::test]
async fn the_key_is_exchanged_once_and_the_token_sent_as_bearer() {
    let server = MockServer::start().await;
    mount_exchange(&server, "A1", "R1", 3600).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenant"))
        .and(header("authorization", "Bearer A1"))
        .respond_with(tenant_ok())
        .expect(2)
        .mount(&server)
        .await;
    let client = token_client(&server);
    client.tenants().current().await.unwrap();
    client.tenants().current().await.unwrap();
    for request in requests(&server).await {
        assert!(request.headers.get("x-api-key").is_none());
        if request.url.path() == "/api/v1/auth/token" {
            assert_no_credential(&request);
        }
    }
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_before_use() {
    let server = MockServer::start().await;
    // Expires at once: the next call refreshes first.
    mount_exchange(&server, "A1", "R1", 0).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/refresh"))
        .and(body_json(json!({"refresh_token": "R1"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_pair("A2", "R2", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer A1"))
        .respond_with(tenant_ok())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer A2"))
        .respond_with(tenant_ok())
        .expect(2)
        .mount(&server)
        .await;
    let client = token_client(&server);
    for _ in 0..3 {
        client.tenants().current().await.unwrap();
    }
}

#[tokio::test]
async fn concurrent_requests_on_token_expired_cause_exactly_one_refresh() {
    let server = MockServer::start().await;
    mount_exchange(&server, "A1", "R1", 3600).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/refresh"))
        .and(body_json(json!({"refresh_token": "R1"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(100))
                .set_body_json(token_pair("A2", "R2", 3600)),
        )
        .expect(1)
        .mount(&server)
        .await;
    // Slow enough that every task is in flight with A1 before anyone refreshes.
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer A1"))
        .respond_with(token_expired().set_delay(Duration::from_millis(100)))
        .expect(1..=16)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer A2"))
        .respond_with(tenant_ok())
        .expect(16)
        .mount(&server)
        .await;

    let client = token_client(&server);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.tenants().current().await })
        })
        .collect();
    for task in tasks {
        let tenant = task.await.unwrap().unwrap();
        assert_eq!(tenant.id, "tenant_abc123");
    }
    let expired = requests(&server)
        .await
        .iter()
        .filter(|r| {
            r.headers
                .get("authorization")
                .is_some_and(|v| v == "Bearer A1")
        })
        .count();
    assert!(
        expired > 1,
        "the test should race several expired requests, got {expired}"
    );
}

#[tokio::test]
async fn token_expired_on_a_post_is_retried_once_after_refresh() {
    let server = MockServer::start().await;
    mount_exchange(&server, "A1", "R1", 3600).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/refresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_pair("A2", "R2", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants/tenant_abc123/suspend"))
        .and(header("authorization", "Bearer A1"))
        .respond_with(token_expired())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants/tenant_abc123/suspend"))
        .and(header("authorization", "Bearer A2"))
        .respond_with(tenant_ok())
        .expect(1)
        .mount(&server)
        .await;
    token_client(&server)
        .tenants()
        .suspend("tenant_abc123")
        .await
        .unwrap();
}

#[tokio::test]
async fn token_expired_twice_is_returned_after_one_refresh() {
    let server = MockServer::start().await;
    mount_exchange(&server, "A1", "R1", 3600).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/refresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_pair("A2", "R2", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(token_expired())
        .expect(2)
        .mount(&server)
        .await;
    let err = token_client(&server).tenants().current().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::TokenExpired));
}

#[tokio::test]
async fn a_refused_refresh_token_falls_back_to_a_new_exchange() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_pair("A1", "R1", 3600)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/token"))
        .and(body_json(json!({"api_key": API_KEY})))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_pair("A3", "R3", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/refresh"))
        .and(body_json(json!({"refresh_token": "R1"})))
        .respond_with(ResponseTemplate::new(401).set_body_json(error_body(
            "INVALID_REFRESH_TOKEN",
            "Refresh token is invalid",
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer A1"))
        .respond_with(token_expired())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer A3"))
        .respond_with(tenant_ok())
        .expect(1)
        .mount(&server)
        .await;
    token_client(&server).tenants().current().await.unwrap();
}

#[tokio::test]
async fn a_refused_key_exchange_is_returned_and_nothing_else_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/token"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(error_body("UNAUTHORIZED", "Invalid API key")),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(tenant_ok())
        .expect(0)
        .mount(&server)
        .await;
    let err = token_client(&server).tenants().current().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unauthorized));
    assert!(err.to_string().contains("Invalid API key"), "{err}");
}

#[tokio::test]
async fn given_tokens_are_refreshed_on_token_expired() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/refresh"))
        .and(body_json(json!({"refresh_token": "R1"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_pair("A2", "R2", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer A1"))
        .respond_with(token_expired())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer A2"))
        .respond_with(tenant_ok())
        .expect(2)
        .mount(&server)
        .await;
    let client = builder(&server).tokens("A1", "R1").build().unwrap();
    client.tenants().current().await.unwrap();
    client.tenants().current().await.unwrap();
}

#[tokio::test]
async fn given_tokens_with_a_refused_refresh_token_return_that_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/refresh"))
        .respond_with(ResponseTemplate::new(401).set_body_json(error_body(
            "INVALID_REFRESH_TOKEN",
            "Refresh token is invalid",
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_pair("A9", "R9", 3600)))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(token_expired())
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).tokens("A1", "R1").build().unwrap();
    let err = client.tenants().current().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidRefreshToken));
}

#[tokio::test]
async fn other_401s_do_not_trigger_a_refresh() {
    let server = MockServer::start().await;
    mount_exchange(&server, "A1", "R1", 3600).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/refresh"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_pair("A2", "R2", 3600)))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(error_body("TENANT_SUSPENDED", "suspended")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = token_client(&server).tenants().current().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::TenantSuspended));
}
