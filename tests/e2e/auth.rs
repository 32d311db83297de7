//! Token exchange through `client.auth()`: exchange, refresh, reuse detection, revoke.

use chalk_sdk::Client;
use chalk_sdk::model::ErrorCode;

use crate::common::TestServer;
use crate::support::{anonymous, create_tenant};

fn bearer(server: &TestServer, access: chalk_sdk::SecretString) -> Client {
    // A refresh token the server never issued: a TOKEN_EXPIRED could not be papered over.
    Client::builder()
        .base_url(&server.base_url)
        .tokens(access, "not-a-refresh-token")
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_key_is_exchanged_for_tokens_that_refresh_once() {
    let server = TestServer::start().await;
    let created = create_tenant(&server, "Token Co").await;
    let auth = anonymous(&server);
    let auth = auth.auth();

    let first = auth.token(created.api_key.clone()).await.unwrap();
    assert_eq!(first.token_type, "Bearer");
    assert_eq!(first.expires_in, 3600);
    assert_ne!(first.access_token, first.refresh_token);
    let me = bearer(&server, first.access_token.clone())
        .tenants()
        .current()
        .await
        .unwrap();
    assert_eq!(me.id, created.tenant.id);

    // A refresh token works once and yields a new, working pair.
    let second = auth.refresh(first.refresh_token.clone()).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    let me = bearer(&server, second.access_token.clone())
        .tenants()
        .get(&created.tenant.id)
        .await
        .unwrap();
    assert_eq!(me.id, created.tenant.id);

    // Reuse: the used token is refused, and the whole chain with it, so a thief who
    // replayed an old token cannot keep the newer one either.
    let reuse = auth.refresh(first.refresh_token).await.unwrap_err();
    assert_eq!(reuse.code(), Some(&ErrorCode::InvalidRefreshToken));
    assert_eq!(reuse.status(), Some(401));
    let chain = auth.refresh(second.refresh_token).await.unwrap_err();
    assert_eq!(chain.code(), Some(&ErrorCode::InvalidRefreshToken));
}

#[tokio::test]
async fn revoke_ends_a_refresh_chain() {
    let server = TestServer::start().await;
    let created = create_tenant(&server, "Revoke Co").await;
    let client = anonymous(&server);
    let auth = client.auth();

    let pair = auth.token(created.api_key.clone()).await.unwrap();
    let renewed = auth.refresh(pair.refresh_token).await.unwrap();
    assert!(
        auth.revoke(renewed.refresh_token.clone())
            .await
            .unwrap()
            .revoked
    );
    let err = auth.refresh(renewed.refresh_token).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidRefreshToken));

    // Revoking something unknown still answers 200: it reveals nothing.
    assert!(auth.revoke("never-issued").await.unwrap().revoked);
}

#[tokio::test]
async fn a_bad_key_or_token_is_unauthorized() {
    let server = TestServer::start().await;
    let client = anonymous(&server);

    let err = client
        .auth()
        .token("sk_live_00000000000000000000000000000000")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unauthorized));
    assert!(err.request_id().is_some());

    let err = client.auth().refresh("garbage").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidRefreshToken));

    let err = bearer(&server, "not-a-jwt".into())
        .tenants()
        .current()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unauthorized));
}
