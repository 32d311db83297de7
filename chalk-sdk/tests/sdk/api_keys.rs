//! `client.tenants().api_keys(id)`.

use chalk_sdk::model::{CreateApiKeyRequest, ListQuery, Scope};
use chrono::{TimeZone, Utc};
use futures_util::TryStreamExt;
use serde_json::json;
use wiremock::matchers::{
    body_json, header, header_exists, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

fn dashboard_key() -> CreateApiKeyRequest {
    CreateApiKeyRequest {
        name: "dashboard".into(),
        scopes: vec![Scope::RoomsRead, Scope::TenantRead],
        expires_at: Some(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()),
    }
}

#[tokio::test]
async fn create_sends_name_scopes_expiry_and_an_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants/tenant_abc123/api-keys"))
        .and(header("x-api-key", API_KEY))
        .and(header_exists("idempotency-key"))
        .and(body_json(json!({
            "name": "dashboard",
            "scopes": ["rooms:read", "tenant:read"],
            "expires_at": "2027-01-01T00:00:00Z"
        })))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(data(fixture("created_api_key.json"))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let created = tenant_key(&server)
        .tenants()
        .api_keys("tenant_abc123")
        .create(&dashboard_key())
        .await
        .unwrap();
    assert_eq!(
        created.api_key.expose(),
        "sk_live_Zx9Zx9Zx9Zx9Zx9Zx9Zx9Zx9Zx9Zx9Zx"
    );
    assert_eq!(created.key_id, "key_new1");
    assert_eq!(created.prefix, "sk_live_Zx9Z");
    assert_eq!(created.scopes, [Scope::RoomsRead, Scope::TenantRead]);
    assert!(!created.primary);
}

#[tokio::test]
async fn create_with_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants/tenant_abc123/api-keys"))
        .and(header("idempotency-key", "ci-key-4711"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(data(fixture("created_api_key.json"))),
        )
        .expect(1)
        .mount(&server)
        .await;
    master(&server)
        .tenants()
        .api_keys("tenant_abc123")
        .create_with_idempotency_key(&dashboard_key(), "ci-key-4711")
        .await
        .unwrap();
}

#[tokio::test]
async fn list_sends_the_query() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants/tenant_abc123/api-keys"))
        .and(header("x-master-key", MASTER_KEY))
        .and(query_param("limit", "10"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [fixture("api_key.json")], "next_cursor": null
        })))
        .expect(1)
        .mount(&server)
        .await;
    let page = master(&server)
        .tenants()
        .api_keys("tenant_abc123")
        .list(&ListQuery {
            limit: Some(10),
            cursor: None,
        })
        .await
        .unwrap();
    assert_eq!(page.data.len(), 1);
    let key = &page.data[0];
    assert_eq!(key.id, "key_old1");
    assert!(key.primary);
    assert_eq!(key.scopes.len(), 4);
    assert!(key.last_used_at.is_some());
    assert_eq!(page.next_cursor, None);
}

#[tokio::test]
async fn list_all_walks_the_pages() {
    let server = MockServer::start().await;
    let mut second = fixture("api_key.json");
    second["id"] = json!("key_old2");
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants/tenant_abc123/api-keys"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [fixture("api_key.json")], "next_cursor": "k2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants/tenant_abc123/api-keys"))
        .and(query_param("cursor", "k2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [second], "next_cursor": null
        })))
        .expect(1)
        .mount(&server)
        .await;
    let keys: Vec<_> = master(&server)
        .tenants()
        .api_keys("tenant_abc123")
        .list_all(ListQuery::default())
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = keys.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(ids, ["key_old1", "key_old2"]);
}

#[tokio::test]
async fn revoke_deletes_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/tenants/tenant_abc123/api-keys/key_new1"))
        .and(header("x-master-key", MASTER_KEY))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(data(json!({"id": "key_new1", "deleted": true}))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let deleted = master(&server)
        .tenants()
        .api_keys("tenant_abc123")
        .revoke("key_new1")
        .await
        .unwrap();
    assert_eq!(deleted.id, "key_new1");
    assert!(deleted.deleted);
}
