//! Scoped API keys through the SDK: what each scope allows, listing without secrets,
//! revocation, and the primary key's protection.

use chalk_sdk::model::{CreateApiKeyRequest, ErrorCode, Scope, UpdateTenantRequest};
use futures_util::TryStreamExt;

use crate::common::TestServer;
use crate::support::{anonymous, create_tenant, master, with_key};

fn key(name: &str, scopes: &[Scope]) -> CreateApiKeyRequest {
    CreateApiKeyRequest {
        name: name.into(),
        scopes: scopes.to_vec(),
        expires_at: None,
    }
}

#[tokio::test]
async fn each_scope_allows_what_it_names_and_nothing_more() {
    let server = TestServer::start().await;
    let created = create_tenant(&server, "Scoped Co").await;
    let id = &created.tenant.id;
    let owner = with_key(&server, &created.api_key);
    let keys = owner.tenants().api_keys(id);

    let reader = keys
        .create(&key("reader", &[Scope::TenantRead]))
        .await
        .unwrap();
    assert_eq!(reader.scopes, [Scope::TenantRead]);
    assert!(!reader.primary);
    assert_eq!(reader.prefix, reader.api_key.expose()[..12]);
    let rooms = keys
        .create(&key("rooms", &[Scope::RoomsWrite]))
        .await
        .unwrap();

    // tenant:read reads but does not write, and cannot manage keys.
    let reader_client = with_key(&server, &reader.api_key);
    assert_eq!(reader_client.tenants().get(id).await.unwrap().id, *id);
    let rename = UpdateTenantRequest {
        name: Some("Hijacked".into()),
        ..Default::default()
    };
    let err = reader_client
        .tenants()
        .update(id, &rename)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Forbidden));
    assert_eq!(err.status(), Some(403));
    let err = reader_client
        .tenants()
        .api_keys(id)
        .list(&Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Forbidden));

    // rooms:write says nothing about the tenant object.
    let rooms_client = with_key(&server, &rooms.api_key);
    let err = rooms_client.tenants().get(id).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Forbidden));

    // A tenant admin may not touch quotas: that needs the master key.
    let quota = UpdateTenantRequest {
        max_concurrent_rooms: Some(100_000),
        ..Default::default()
    };
    let err = owner.tenants().update(id, &quota).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Forbidden));
    assert_eq!(
        master(&server)
            .tenants()
            .get(id)
            .await
            .unwrap()
            .max_concurrent_rooms,
        100
    );

    // Tokens carry the scopes of the key that minted them.
    let pair = anonymous(&server)
        .auth()
        .token(reader.api_key.clone())
        .await
        .unwrap();
    let bearer = chalk_sdk::Client::builder()
        .base_url(&server.base_url)
        .tokens(pair.access_token, pair.refresh_token)
        .build()
        .unwrap();
    assert_eq!(bearer.tenants().current().await.unwrap().id, *id);
    let err = bearer.tenants().update(id, &rename).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Forbidden));
}

#[tokio::test]
async fn keys_are_listed_without_secrets_and_revocation_stops_a_key_and_its_tokens() {
    let server = TestServer::start().await;
    let created = create_tenant(&server, "Revoking Co").await;
    let id = &created.tenant.id;
    let owner = with_key(&server, &created.api_key);
    let keys = owner.tenants().api_keys(id);

    let ci = keys
        .create(&key("ci", &[Scope::TenantAdmin, Scope::RoomsWrite]))
        .await
        .unwrap();
    let listed: Vec<_> = keys
        .list_all(Default::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let ci_listed = listed.iter().find(|k| k.id == ci.key_id).expect("ci key");
    assert_eq!(ci_listed.name, "ci");
    assert_eq!(ci_listed.prefix, ci.prefix);
    assert_eq!(ci_listed.scopes, [Scope::TenantAdmin, Scope::RoomsWrite]);
    let primary = listed.iter().find(|k| k.primary).expect("primary key");
    assert_eq!(primary.id, created.key_id);
    assert_eq!(
        master(&server)
            .tenants()
            .get(id)
            .await
            .unwrap()
            .usage
            .api_keys,
        2
    );

    // The key and a token it minted work until the key is revoked.
    let ci_client = with_key(&server, &ci.api_key);
    assert_eq!(ci_client.tenants().current().await.unwrap().id, *id);
    let pair = anonymous(&server)
        .auth()
        .token(ci.api_key.clone())
        .await
        .unwrap();
    let bearer = chalk_sdk::Client::builder()
        .base_url(&server.base_url)
        .tokens(pair.access_token, pair.refresh_token.clone())
        .build()
        .unwrap();
    assert_eq!(bearer.tenants().current().await.unwrap().id, *id);

    let revoked = keys.revoke(&ci.key_id).await.unwrap();
    assert!(revoked.deleted);
    let err = ci_client.tenants().current().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unauthorized));
    let err = bearer.tenants().current().await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err:?}");
    let err = anonymous(&server)
        .auth()
        .refresh(pair.refresh_token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidRefreshToken));

    let remaining = keys.list(&Default::default()).await.unwrap();
    assert_eq!(remaining.data.len(), 1);
    // Revoking it again, or an unknown key, is 404.
    let err = keys.revoke(&ci.key_id).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));
}

#[tokio::test]
async fn the_primary_key_cannot_be_revoked_only_rotated() {
    let server = TestServer::start().await;
    let created = create_tenant(&server, "Primary Co").await;
    let admin = master(&server);
    let err = admin
        .tenants()
        .api_keys(&created.tenant.id)
        .revoke(&created.key_id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Conflict));
    assert_eq!(err.status(), Some(409));
    let owner = with_key(&server, &created.api_key);
    assert_eq!(
        owner.tenants().current().await.unwrap().id,
        created.tenant.id
    );
}
