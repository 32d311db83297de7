//! `client.ops()`: probes outside `/api/v1`, without credentials.

use chalk_sdk::Error;
use chalk_sdk::model::ErrorCode;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

#[tokio::test]
async fn health_and_ready_are_read_outside_the_api_prefix_without_credentials() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/healthz"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/readyz"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ready"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = master(&server);
    assert_eq!(client.ops().health().await.unwrap().status, "ok");
    assert_eq!(client.ops().ready().await.unwrap().status, "ready");
    for request in requests(&server).await {
        assert_no_credential(&request);
    }
}

#[tokio::test]
async fn a_base_url_prefix_is_kept_for_probes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/chalk/healthz"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server)
        .base_url(format!("{}/chalk/api/v1", server.uri()))
        .build()
        .unwrap();
    assert_eq!(client.ops().health().await.unwrap().status, "ok");
}

#[tokio::test]
async fn not_ready_is_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/readyz"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(error_body("UNAVAILABLE", "shutting down")),
        )
        .mount(&server)
        .await;
    let client = builder(&server)
        .retry_policy(chalk_sdk::RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.ops().ready().await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Api {
                status: 503,
                code: ErrorCode::Unavailable,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn metrics_are_text_and_openapi_is_json() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/metrics"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/plain; version=0.0.4")
                .set_body_string("# TYPE http_requests_total counter\nhttp_requests_total 3\n"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/openapi.json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"openapi": "3.1.0", "info": {"version": "0.1.0"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = tenant_key(&server);
    let text = client.ops().metrics().await.unwrap();
    assert!(text.contains("http_requests_total 3"), "{text}");
    let document = client.ops().openapi().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    for request in requests(&server).await {
        assert_no_credential(&request);
    }
}

#[tokio::test]
async fn a_health_body_of_the_wrong_shape_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/healthz"))
        .respond_with(ResponseTemplate::new(200).set_body_string("OK"))
        .mount(&server)
        .await;
    let err = anonymous(&server).ops().health().await.unwrap_err();
    assert!(matches!(&err, Error::Decode { .. }), "{err:?}");
    assert_eq!(err.body(), Some("OK"));
}
