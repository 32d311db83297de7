//! Token mode against a real server whose access tokens live two seconds
//! (`--access-token-ttl 2`): the SDK exchanges, refreshes before expiry, renews once on
//! `TOKEN_EXPIRED`, and never lets concurrent requests spend a refresh token twice.
//! (Two seconds, not one, leaves a slow CI machine a second of slack after each renewal.)

use std::time::Duration;

use chalk_sdk::Client;
use chalk_sdk::model::ErrorCode;

use crate::common::TestServer;
use crate::support::{Proxy, anonymous, create_tenant};

const TOKEN: &str = "/api/v1/auth/token";
const REFRESH: &str = "/api/v1/auth/refresh";
const CURRENT: &str = "/api/v1/tenant";

async fn short_lived_server() -> TestServer {
    TestServer::start_with(&["--access-token-ttl", "2"]).await
}

/// Runs `current()` from `n` clones of `client` at once; every one must succeed.
async fn concurrently(client: &Client, n: usize, tenant_id: &str) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.tenants().current().await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().id, tenant_id);
    }
}

#[tokio::test]
async fn an_api_key_is_exchanged_once_and_refreshed_before_the_token_expires() {
    let server = short_lived_server().await;
    let created = create_tenant(&server, "Token Mode Co").await;
    let proxy = Proxy::start(&server).await;
    let client = Client::builder()
        .base_url(&proxy.base_url)
        .api_key(created.api_key.clone())
        .token_mode(true)
        .build()
        .unwrap();

    concurrently(&client, 4, &created.tenant.id).await;
    assert_eq!(proxy.seen_at("POST", TOKEN).len(), 1);
    let calls = proxy.seen_at("GET", CURRENT);
    assert_eq!(calls.len(), 4);
    assert!(calls.iter().all(|c| c.bearer && !c.api_key), "{calls:?}");

    // Past the renewal point (nine tenths of the lifetime) the next requests first
    // refresh, once, and no request is ever refused.
    tokio::time::sleep(Duration::from_millis(1900)).await;
    concurrently(&client, 8, &created.tenant.id).await;
    assert_eq!(proxy.seen_at("POST", REFRESH).len(), 1);
    assert_eq!(proxy.seen_at("POST", TOKEN).len(), 1);
    let refused: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.status >= 400)
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
}

#[tokio::test]
async fn given_tokens_are_renewed_once_on_token_expired_however_many_tasks_wait() {
    let server = short_lived_server().await;
    let created = create_tenant(&server, "Expiring Co").await;
    let pair = anonymous(&server)
        .auth()
        .token(created.api_key.clone())
        .await
        .unwrap();
    assert_eq!(pair.expires_in, 2);
    let proxy = Proxy::start(&server).await;
    let client = Client::builder()
        .base_url(&proxy.base_url)
        .tokens(pair.access_token.clone(), pair.refresh_token.clone())
        .build()
        .unwrap();
    assert_eq!(
        client.tenants().current().await.unwrap().id,
        created.tenant.id
    );

    // The server refuses a token once its `exp` second has passed: at most 3 s after issue.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    concurrently(&client, 8, &created.tenant.id).await;

    let expired: Vec<_> = proxy
        .seen_at("GET", CURRENT)
        .into_iter()
        .filter(|s| s.status == 401)
        .collect();
    assert!(!expired.is_empty(), "the server never said TOKEN_EXPIRED");
    // Exactly one refresh: a second one with the same refresh token would have been
    // reuse, revoking the chain and failing the other tasks.
    assert_eq!(proxy.seen_at("POST", REFRESH).len(), 1);
    // The client spent the original refresh token: presenting it now is reuse.
    let reuse = anonymous(&server)
        .auth()
        .refresh(pair.refresh_token)
        .await
        .unwrap_err();
    assert_eq!(reuse.code(), Some(&ErrorCode::InvalidRefreshToken));
}

#[tokio::test]
async fn a_revoked_key_in_token_mode_fails_with_a_typed_error() {
    let server = TestServer::start().await;
    let created = create_tenant(&server, "Revoked Mode Co").await;
    crate::support::master(&server)
        .tenants()
        .rotate_key(&created.tenant.id, &Default::default())
        .await
        .unwrap();
    let client = Client::builder()
        .base_url(&server.base_url)
        .api_key(created.api_key.clone())
        .token_mode(true)
        .build()
        .unwrap();
    let err = client.tenants().current().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unauthorized));
    assert!(!err.is_retryable());
}
