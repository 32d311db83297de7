//! Every failure comes back as a typed, matchable `Error`.

use std::time::Duration;

use chalk_sdk::model::{ErrorCode, FieldError};
use chalk_sdk::{Client, Error, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

fn no_retries(server: &MockServer) -> Client {
    builder(server)
        .master_key(MASTER_KEY)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_error_code_of_the_contract_is_decoded() {
    let server = MockServer::start().await;
    let client = no_retries(&server);
    for code in ErrorCode::ALL {
        server.reset().await;
        let status = code.http_status();
        Mock::given(method("GET"))
            .and(path("/api/v1/tenants/tenant_abc123"))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({
                "error": {
                    "code": code.as_str(),
                    "message": format!("message for {code}"),
                    "details": [{"field": "name", "message": "is wrong"}],
                    "request_id": format!("req_{code}")
                }
            })))
            .expect(1)
            .mount(&server)
            .await;
        let err = client.tenants().get("tenant_abc123").await.unwrap_err();
        let Error::Api {
            status: got_status,
            code: got_code,
            message,
            details,
            request_id,
            retry_after,
        } = &err
        else {
            panic!("{code}: expected Api, got {err:?}")
        };
        assert_eq!(got_code, code);
        assert_eq!(*got_status, status);
        assert_eq!(message, &format!("message for {code}"));
        assert_eq!(details, &[FieldError::new("name", "is wrong")]);
        assert_eq!(request_id.as_deref(), Some(format!("req_{code}").as_str()));
        assert_eq!(*retry_after, None);
        assert_eq!(err.code(), Some(code));
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.is_retryable(), status == 429 || status >= 500, "{code}");
        server.verify().await;
    }
}

#[tokio::test]
async fn validation_details_and_display() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants"))
        .respond_with(ResponseTemplate::new(422).set_body_json(fixture("validation_error.json")))
        .expect(1)
        .mount(&server)
        .await;
    let err = no_retries(&server)
        .tenants()
        .create(&chalk_sdk::model::CreateTenantRequest::new(""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ValidationError));
    assert_eq!(err.details().len(), 2);
    assert_eq!(err.details()[0].field, "config.allowed_origins[3]");
    assert_eq!(err.request_id(), Some("req_validation"));
    assert_eq!(
        err.to_string(),
        "VALIDATION_ERROR (422): 2 fields are invalid; \
         config.allowed_origins[3]: must be an http(s) origin; name: must not be empty \
         [request id req_validation]"
    );
}

#[tokio::test]
async fn an_unknown_code_is_kept_as_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(418).set_body_json(json!({
            "error": {"code": "BRAND_NEW_CODE", "message": "from a newer server"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = no_retries(&server).tenants().current().await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(&ErrorCode::Unknown("BRAND_NEW_CODE".into()))
    );
    assert_eq!(err.status(), Some(418));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn request_id_falls_back_to_the_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("x-request-id", "req_from_header")
                .set_body_json(
                    json!({"error": {"code": "NOT_FOUND", "message": "Tenant not found"}}),
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = no_retries(&server)
        .tenants()
        .get("tenant_x")
        .await
        .unwrap_err();
    assert_eq!(err.request_id(), Some("req_from_header"));
}

#[tokio::test]
async fn a_non_json_502_is_an_api_error_with_a_snippet() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(502)
                .insert_header("content-type", "text/html")
                .insert_header("x-request-id", "req_proxy")
                .set_body_string(fixture_text("bad_gateway.html")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = no_retries(&server).tenants().current().await.unwrap_err();
    let Error::Api {
        status,
        code,
        message,
        details,
        request_id,
        ..
    } = &err
    else {
        panic!("expected Api, got {err:?}")
    };
    assert_eq!(*status, 502);
    assert_eq!(code, &ErrorCode::Unavailable);
    assert!(message.contains("502 Bad Gateway"), "{message}");
    assert!(message.contains("nginx"), "{message}");
    assert!(details.is_empty());
    assert_eq!(request_id.as_deref(), Some("req_proxy"));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn json_that_is_not_the_envelope_maps_from_the_status() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "no route"})))
        .expect(1)
        .mount(&server)
        .await;
    let err = no_retries(&server).tenants().current().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));
    assert!(err.to_string().contains("no route"), "{err}");
}

#[tokio::test]
async fn an_unmapped_status_without_envelope_is_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(451).set_body_string("blocked"))
        .expect(1)
        .mount(&server)
        .await;
    let err = no_retries(&server).tenants().current().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unknown("HTTP_451".into())));
}

#[tokio::test]
async fn a_wrong_success_body_names_the_json_path_and_keeps_the_body() {
    let server = MockServer::start().await;
    let mut tenant = fixture("tenant.json");
    tenant["usage"]["api_keys"] = json!("two");
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(tenant)))
        .expect(1)
        .mount(&server)
        .await;
    let err = no_retries(&server).tenants().current().await.unwrap_err();
    let Error::Decode {
        path,
        message,
        body,
    } = &err
    else {
        panic!("expected Decode, got {err:?}")
    };
    assert_eq!(path, "data.usage.api_keys");
    assert!(message.contains("invalid type"), "{message}");
    assert!(body.contains("\"two\""));
    assert_eq!(err.body(), Some(body.as_str()));
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("data.usage.api_keys"), "{err}");
}

#[tokio::test]
async fn a_decode_error_does_not_print_a_secret_in_debug() {
    let server = MockServer::start().await;
    // A created tenant missing `key_id`: the body holds a fresh key.
    let mut created = fixture("tenant.json");
    created["api_key"] = json!("sk_live_SecretSecretSecretSecretSecret");
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(data(created)))
        .expect(1)
        .mount(&server)
        .await;
    let err = no_retries(&server)
        .tenants()
        .create(&chalk_sdk::model::CreateTenantRequest::new("Acme"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("key_id"), "{err}");
    assert!(!format!("{err:?}").contains("sk_live_Secret"));
    assert!(!err.to_string().contains("sk_live_Secret"));
    assert!(err.body().unwrap().contains("sk_live_Secret"));
}

#[tokio::test]
async fn a_slow_server_is_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_json(data(fixture("tenant.json"))),
        )
        .mount(&server)
        .await;
    let client = builder(&server)
        .master_key(MASTER_KEY)
        .retry_policy(RetryPolicy::none())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.tenants().current().await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_refused_connection_is_a_retryable_transport_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let err = client.tenants().current().await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.code(), None);
    assert_eq!(err.status(), None);
}
