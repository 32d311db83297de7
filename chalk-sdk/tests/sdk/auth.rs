//! `client.auth()`: the credential travels in the body, never in a header.

use chalk_sdk::model::ErrorCode;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

#[tokio::test]
async fn token_exchanges_the_key_in_the_body_without_credential_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/token"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"api_key": API_KEY})))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_pair("A1", "R1", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    // Even a client holding the master key sends no credential header here.
    let pair = master(&server).auth().token(API_KEY).await.unwrap();
    assert_eq!(pair.access_token.expose(), "A1");
    assert_eq!(pair.refresh_token.expose(), "R1");
    assert_eq!(pair.token_type, "Bearer");
    assert_eq!(pair.expires_in, 3600);
    assert_no_credential(&requests(&server).await[0]);
}

#[tokio::test]
async fn refresh_sends_the_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/refresh"))
        .and(body_json(json!({"refresh_token": "R1"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_pair("A2", "R2", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    let pair = tenant_key(&server).auth().refresh("R1").await.unwrap();
    assert_eq!(pair.access_token.expose(), "A2");
    assert_no_credential(&requests(&server).await[0]);
}

#[tokio::test]
async fn refresh_with_a_used_token_is_invalid_refresh_token_and_not_retried() {
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
    let err = anonymous(&server).auth().refresh("R1").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidRefreshToken));
}

#[tokio::test]
async fn refresh_is_never_retried_even_on_5xx() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/refresh"))
        .respond_with(ResponseTemplate::new(503).set_body_json(error_body("UNAVAILABLE", "down")))
        .expect(1)
        .mount(&server)
        .await;
    let err = anonymous(&server).auth().refresh("R1").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unavailable));
}

#[tokio::test]
async fn revoke_sends_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/auth/revoke"))
        .and(body_json(json!({"token": "R1"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(json!({"revoked": true}))))
        .expect(1)
        .mount(&server)
        .await;
    let revoked = anonymous(&server).auth().revoke("R1").await.unwrap();
    assert!(revoked.revoked);
}
