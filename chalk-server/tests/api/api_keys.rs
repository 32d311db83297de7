//! docs/api.md API keys: scoped extra keys, listed without secrets, revoked at once.

use serde_json::{Value, json};

use crate::common::*;

fn keys_path(tenant: &Tenant) -> String {
    format!("/api/v1/tenants/{}/api-keys", tenant.id)
}

#[tokio::test]
async fn create_shows_the_secret_once_with_its_prefix() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let expires = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let response = app
        .post(&keys_path(&acme))
        .key(&acme.key)
        .json(
            json!({"name": "ci", "scopes": ["rooms:write", "tenant:read", "rooms:write"],
            "expires_at": expires}),
        )
        .send()
        .await;
    response.assert_status(201);
    let data = &response.body["data"];
    let secret = data["api_key"].as_str().unwrap();
    assert!(secret.starts_with("sk_live_") && secret.len() == 40);
    assert_eq!(data["prefix"], &secret[..12]);
    assert!(data["key_id"].as_str().unwrap().starts_with("key_"));
    assert_eq!(data["name"], "ci");
    assert_eq!(data["primary"], false);
    assert_eq!(data["expires_at"], expires.as_str());
    let mut scopes: Vec<&str> = data["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    scopes.sort();
    assert_eq!(scopes, ["rooms:write", "tenant:read"], "deduplicated");

    let list = app.get(&keys_path(&acme)).key(&acme.key).send().await;
    list.assert_status(200);
    assert!(!list.text.contains(secret), "the list never shows a secret");
    let keys = list.body["data"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for key in keys {
        assert!(key.get("api_key").is_none());
        for field in ["id", "name", "prefix", "scopes", "primary", "created_at"] {
            assert!(key.get(field).is_some(), "{field} in {key}");
        }
        assert!(key.get("last_used_at").is_some() && key.get("expires_at").is_some());
    }
    assert_eq!(keys[0]["id"], acme.key_id.as_str());
    assert_eq!(keys[0]["primary"], true);
    assert_eq!(keys[0]["name"], "primary");
    assert!(
        keys[0]["last_used_at"].as_str().is_some(),
        "the primary key was used"
    );
    assert_eq!(keys[1]["id"], data["key_id"]);
    assert!(keys[1]["last_used_at"].is_null());
    assert!(list.body["next_cursor"].is_null());

    // The new key works, and using it is recorded.
    app.get("/api/v1/tenant")
        .key(secret)
        .send()
        .await
        .assert_status(200);
    let list = app.get(&keys_path(&acme)).master().send().await;
    assert!(list.body["data"][1]["last_used_at"].is_string());
}

#[tokio::test]
async fn scopes_decide_what_a_key_and_its_tokens_may_do() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let tenant_path = format!("/api/v1/tenants/{}", acme.id);
    let (read, _) = app.scoped_key(&acme, &["tenant:read"]).await;
    let (admin, _) = app.scoped_key(&acme, &["tenant:admin"]).await;
    let (rooms, _) = app.scoped_key(&acme, &["rooms:read", "rooms:write"]).await;

    // tenant:admin implies tenant:read.
    for key in [&read, &admin] {
        app.get(&tenant_path)
            .key(key)
            .send()
            .await
            .assert_status(200);
    }
    app.get(&tenant_path)
        .key(&rooms)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.patch(&tenant_path)
        .key(&read)
        .json(json!({"name": "x"}))
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.patch(&tenant_path)
        .key(&admin)
        .json(json!({"name": "By admin"}))
        .send()
        .await
        .assert_status(200);
    app.get(&keys_path(&acme))
        .key(&read)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.get(&keys_path(&acme))
        .key(&admin)
        .send()
        .await
        .assert_status(200);

    // Tokens carry their key's scopes.
    let read_token = app.token(&read).await;
    app.get(&tenant_path)
        .bearer(&read_token.access)
        .send()
        .await
        .assert_status(200);
    app.patch(&tenant_path)
        .bearer(&read_token.access)
        .json(json!({"name": "x"}))
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    let rooms_token = app.token(&rooms).await;
    app.get(&tenant_path)
        .bearer(&rooms_token.access)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    assert_eq!(
        app.read_tenant(&acme.id).await.body["data"]["name"],
        "By admin"
    );
}

#[tokio::test]
async fn a_tenant_credential_cannot_grant_scopes_it_lacks() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let (admin, _) = app.scoped_key(&acme, &["tenant:admin"]).await;
    let response = app
        .post(&keys_path(&acme))
        .key(&admin)
        .json(json!({"name": "escalate", "scopes": ["tenant:admin", "rooms:write"]}))
        .send()
        .await;
    response.assert_error(403, "FORBIDDEN");
    assert!(response.message().contains("rooms:write"));
    app.post(&keys_path(&acme))
        .key(&admin)
        .json(json!({"name": "reader", "scopes": ["tenant:read"]}))
        .send()
        .await
        .assert_status(201);
    let list = app.get(&keys_path(&acme)).master().send().await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn create_validates_every_field() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = keys_path(&acme);
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"name": "", "scopes": []}), vec!["name", "scopes"]),
        (
            json!({"name": "x".repeat(101), "scopes": ["rooms:read"]}),
            vec!["name"],
        ),
        (
            json!({"name": "k", "scopes": ["rooms:delete"]}),
            vec!["scopes[0]"],
        ),
        (
            json!({"name": "k", "scopes": ["rooms:read"], "expires_at": "2001-01-01T00:00:00Z"}),
            vec!["expires_at"],
        ),
        (
            json!({"name": "k", "scopes": ["rooms:read"], "expires_at": "next week"}),
            vec!["expires_at"],
        ),
        (json!({"name": "k"}), vec!["scopes"]),
        (json!({"scopes": ["rooms:read"]}), vec!["name"]),
        (
            json!({"name": "k", "scopes": ["rooms:read"], "primary": true}),
            vec!["primary"],
        ),
    ];
    for (body, fields) in cases {
        let response = app.post(&path).master().json(body.clone()).send().await;
        response.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(response.fields(), fields, "{body}");
    }
    app.post(&path)
        .master()
        .raw("{}")
        .send()
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let list = app.get(&path).master().send().await;
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        1,
        "nothing created"
    );
}

#[tokio::test]
async fn keys_of_another_tenant_are_not_found() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    let (_, acme_extra_id) = app.scoped_key(&acme, &["rooms:read"]).await;
    let body = json!({"name": "x", "scopes": ["rooms:read"]});
    app.post(&keys_path(&acme))
        .key(&other.key)
        .json(body.clone())
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.get(&keys_path(&acme))
        .key(&other.key)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.delete(&format!("{}/{acme_extra_id}", keys_path(&acme)))
        .key(&other.key)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    // Acme's key id under the other tenant's path is not found either.
    app.delete(&format!("{}/{acme_extra_id}", keys_path(&other)))
        .master()
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.post("/api/v1/tenants/tenant_nope/api-keys")
        .master()
        .json(body)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.get("/api/v1/tenants/tenant_nope/api-keys")
        .master()
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.get(&keys_path(&acme))
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    let list = app.get(&keys_path(&acme)).master().send().await;
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        2,
        "still there"
    );
}

#[tokio::test]
async fn revoke_stops_the_key_and_its_tokens_at_once() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let (extra, extra_id) = app.scoped_key(&acme, &["tenant:read"]).await;
    let pair = app.token(&extra).await;
    app.get("/api/v1/tenant")
        .bearer(&pair.access)
        .send()
        .await
        .assert_status(200);

    let path = format!("{}/{extra_id}", keys_path(&acme));
    let response = app.delete(&path).key(&acme.key).send().await;
    response.assert_status(200);
    assert_eq!(
        response.body,
        json!({"data": {"id": extra_id, "deleted": true}})
    );

    app.get("/api/v1/tenant")
        .key(&extra)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.get("/api/v1/tenant")
        .bearer(&pair.access)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": pair.refresh}))
        .send()
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
    app.post("/api/v1/auth/token")
        .json(json!({"api_key": extra}))
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.delete(&path)
        .master()
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    let list = app.get(&keys_path(&acme)).master().send().await;
    let ids: Vec<&str> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [acme.key_id.as_str()]);
}

#[tokio::test]
async fn the_primary_key_is_replaced_only_by_rotate_key() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let response = app
        .delete(&format!("{}/{}", keys_path(&acme), acme.key_id))
        .master()
        .send()
        .await;
    response.assert_error(409, "CONFLICT");
    assert!(response.message().contains("rotate-key"));
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_key_without_tenant_admin_cannot_manage_keys() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let (read, read_id) = app.scoped_key(&acme, &["tenant:read", "rooms:write"]).await;
    app.post(&keys_path(&acme))
        .key(&read)
        .json(json!({"name": "x", "scopes": ["rooms:read"]}))
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.delete(&format!("{}/{read_id}", keys_path(&acme)))
        .key(&read)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.get("/api/v1/tenant")
        .key(&read)
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn the_key_list_paginates() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    for _ in 0..4 {
        app.scoped_key(&acme, &["rooms:read"]).await;
    }
    let path = keys_path(&acme);
    let first = app.get(&format!("{path}?limit=3")).master().send().await;
    first.assert_status(200);
    assert_eq!(first.body["data"].as_array().unwrap().len(), 3);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("{path}?limit=3&cursor={cursor}"))
        .master()
        .send()
        .await;
    assert_eq!(second.body["data"].as_array().unwrap().len(), 2);
    assert!(second.body["next_cursor"].is_null());
    app.get(&format!("{path}?limit=0"))
        .master()
        .send()
        .await
        .assert_error(400, "INVALID_REQUEST");
}
