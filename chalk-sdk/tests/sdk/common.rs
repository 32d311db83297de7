//! Fixtures and clients shared by the tests.

use std::time::Duration;

use chalk_sdk::{Client, ClientBuilder, RetryPolicy};
use serde_json::{Value, json};
use wiremock::MockServer;

pub const MASTER_KEY: &str = "mk_test_master";
pub const API_KEY: &str = "sk_live_Ab12Ab12Ab12Ab12Ab12Ab12Ab12Ab12";

/// A JSON file of `tests/fixtures/`.
pub fn fixture(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn fixture_text(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `{"data": value}`.
pub fn data(value: Value) -> Value {
    json!({ "data": value })
}

/// The tenant fixture with another id.
pub fn tenant(id: &str) -> Value {
    let mut tenant = fixture("tenant.json");
    tenant["id"] = json!(id);
    tenant
}

pub fn error_body(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "request_id": "req_test"}})
}

/// Retries that do not slow the tests down.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

pub fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .base_url(server.uri())
        .retry_policy(fast_retries())
        .timeout(Duration::from_secs(5))
}

pub fn master(server: &MockServer) -> Client {
    builder(server).master_key(MASTER_KEY).build().unwrap()
}

pub fn tenant_key(server: &MockServer) -> Client {
    builder(server).api_key(API_KEY).build().unwrap()
}

pub fn anonymous(server: &MockServer) -> Client {
    builder(server).build().unwrap()
}

/// A token pair as the server sends it.
pub fn token_pair(access: &str, refresh: &str, expires_in: i64) -> Value {
    data(json!({
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": expires_in,
    }))
}

/// Every request the server received.
pub async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.expect("recording is on")
}

/// Asserts a request carried none of the three credential headers.
pub fn assert_no_credential(request: &wiremock::Request) {
    for name in ["x-master-key", "x-api-key", "authorization"] {
        assert!(
            request.headers.get(name).is_none(),
            "unexpected {name} on {} {}",
            request.method,
            request.url
        );
    }
}
