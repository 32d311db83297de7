//! `client.tenants()`: every method's request and decoded answer.

use chalk_sdk::Error;
use chalk_sdk::model::{
    CreateTenantRequest, ErrorCode, ListTenantsQuery, Patch, RotateKeyRequest, TenantStatus,
    UpdateTenantRequest,
};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::json;
use wiremock::matchers::{
    body_json, header, header_exists, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

#[tokio::test]
async fn create_sends_body_master_key_and_a_generated_idempotency_key() {
    let server = MockServer::start().await;
    let mut created = fixture("tenant.json");
    created["api_key"] = json!("sk_live_NewNewNewNewNewNewNewNewNewNewNe");
    created["key_id"] = json!("key_primary");
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants"))
        .and(header("x-master-key", MASTER_KEY))
        .and(header("content-type", "application/json"))
        .and(header("accept", "application/json"))
        .and(header_exists("idempotency-key"))
        .and(body_json(json!({
            "name": "Acme University",
            "email": "ops@acme.edu",
            "external_id": "acme",
            "max_concurrent_rooms": 50,
            "config": {"force_recording": true, "transcription_language": null}
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(data(created)))
        .expect(1)
        .mount(&server)
        .await;

    let request = CreateTenantRequest {
        email: Some("ops@acme.edu".into()),
        external_id: Some("acme".into()),
        max_concurrent_rooms: Some(50),
        config: Some(chalk_sdk::model::ConfigPatch {
            force_recording: Patch::Set(true),
            transcription_language: Patch::Reset,
            ..Default::default()
        }),
        ..CreateTenantRequest::new("Acme University")
    };
    let created = master(&server).tenants().create(&request).await.unwrap();
    assert_eq!(created.tenant.id, "tenant_abc123");
    assert_eq!(created.tenant.external_id.as_deref(), Some("acme"));
    assert_eq!(created.tenant.usage.active_participants, 41);
    assert_eq!(
        created.api_key.expose(),
        "sk_live_NewNewNewNewNewNewNewNewNewNewNe"
    );
    assert_eq!(created.key_id, "key_primary");

    let sent = requests(&server).await;
    let key = sent[0].headers["idempotency-key"].to_str().unwrap();
    assert_eq!(key.len(), 32, "{key}");
    assert!(key.chars().all(|c| c.is_ascii_alphanumeric()), "{key}");
}

#[tokio::test]
async fn each_create_gets_its_own_idempotency_key() {
    let server = MockServer::start().await;
    let mut created = fixture("tenant.json");
    created["api_key"] = json!("sk_live_x");
    created["key_id"] = json!("key_1");
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants"))
        .respond_with(ResponseTemplate::new(201).set_body_json(data(created)))
        .expect(2)
        .mount(&server)
        .await;
    let client = master(&server);
    client
        .tenants()
        .create(&CreateTenantRequest::new("A"))
        .await
        .unwrap();
    client
        .tenants()
        .create(&CreateTenantRequest::new("A"))
        .await
        .unwrap();
    let sent = requests(&server).await;
    assert_ne!(
        sent[0].headers["idempotency-key"],
        sent[1].headers["idempotency-key"]
    );
}

#[tokio::test]
async fn create_with_idempotency_key_sends_the_callers_key() {
    let server = MockServer::start().await;
    let mut created = fixture("tenant.json");
    created["api_key"] = json!("sk_live_x");
    created["key_id"] = json!("key_1");
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants"))
        .and(header("idempotency-key", "ci-run-4711"))
        .and(body_json(json!({"name": "Acme"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(data(created)))
        .expect(1)
        .mount(&server)
        .await;
    let created = master(&server)
        .tenants()
        .create_with_idempotency_key(&CreateTenantRequest::new("Acme"), "ci-run-4711")
        .await
        .unwrap();
    assert_eq!(created.key_id, "key_1");
}

#[tokio::test]
async fn an_invalid_idempotency_key_is_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let tenants_client = master(&server);
    for bad in ["", "line\nbreak", &"x".repeat(256)] {
        let err = tenants_client
            .tenants()
            .create_with_idempotency_key(&CreateTenantRequest::new("Acme"), bad)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
    }
}

#[tokio::test]
async fn create_without_credential_for_open_registration() {
    let server = MockServer::start().await;
    let mut created = fixture("tenant.json");
    created["api_key"] = json!("sk_live_x");
    created["key_id"] = json!("key_1");
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants"))
        .respond_with(ResponseTemplate::new(201).set_body_json(data(created)))
        .expect(1)
        .mount(&server)
        .await;
    anonymous(&server)
        .tenants()
        .create(&CreateTenantRequest::new("Self-serve"))
        .await
        .unwrap();
    assert_no_credential(&requests(&server).await[0]);
}

#[tokio::test]
async fn list_sends_the_query_and_returns_the_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants"))
        .and(header("x-master-key", MASTER_KEY))
        .and(query_param("limit", "2"))
        .and(query_param("cursor", "c1"))
        .and(query_param("status", "suspended"))
        .and(query_param("external_id", "acme"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [tenant("tenant_1"), tenant("tenant_2")],
            "next_cursor": "c2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let query = ListTenantsQuery {
        limit: Some(2),
        cursor: Some("c1".into()),
        status: Some(TenantStatus::Suspended),
        external_id: Some("acme".into()),
    };
    let page = master(&server).tenants().list(&query).await.unwrap();
    let ids: Vec<_> = page.data.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["tenant_1", "tenant_2"]);
    assert_eq!(page.next_cursor.as_deref(), Some("c2"));
}

#[tokio::test]
async fn list_without_filters_sends_no_query() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [], "next_cursor": null})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let page = master(&server)
        .tenants()
        .list(&ListTenantsQuery::default())
        .await
        .unwrap();
    assert!(page.data.is_empty());
    assert_eq!(page.next_cursor, None);
    assert_eq!(requests(&server).await[0].url.query(), None);
}

#[tokio::test]
async fn list_all_walks_every_page_keeping_the_filters() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants"))
        .and(query_param("status", "active"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [tenant("tenant_1"), tenant("tenant_2")], "next_cursor": "c2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants"))
        .and(query_param("status", "active"))
        .and(query_param("cursor", "c2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [tenant("tenant_3"), tenant("tenant_4")], "next_cursor": "c3"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants"))
        .and(query_param("status", "active"))
        .and(query_param("cursor", "c3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [tenant("tenant_5")], "next_cursor": null
        })))
        .expect(1)
        .mount(&server)
        .await;
    let query = ListTenantsQuery {
        status: Some(TenantStatus::Active),
        ..Default::default()
    };
    let all: Vec<_> = master(&server)
        .tenants()
        .list_all(query)
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        ["tenant_1", "tenant_2", "tenant_3", "tenant_4", "tenant_5"]
    );
}

#[tokio::test]
async fn list_all_yields_the_error_and_stops() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [tenant("tenant_1")], "next_cursor": "c2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants"))
        .and(query_param("cursor", "c2"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(error_body("INVALID_REQUEST", "bad cursor")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let items: Vec<_> = master(&server)
        .tenants()
        .list_all(ListTenantsQuery::default())
        .collect()
        .await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().id, "tenant_1");
    assert_eq!(
        items[1].as_ref().unwrap_err().code(),
        Some(&ErrorCode::InvalidRequest)
    );
}

#[tokio::test]
async fn list_all_stops_when_the_server_repeats_a_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [tenant("tenant_1")], "next_cursor": "same"
        })))
        .expect(2)
        .mount(&server)
        .await;
    let all: Vec<_> = master(&server)
        .tenants()
        .list_all(ListTenantsQuery::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn get_with_an_api_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants/tenant_abc123"))
        .and(header("x-api-key", API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let tenant = tenant_key(&server)
        .tenants()
        .get("tenant_abc123")
        .await
        .unwrap();
    assert_eq!(tenant.name, "Acme University");
    assert_eq!(tenant.status, TenantStatus::Active);
    assert_eq!(tenant.config.allowed_origins, ["https://app.acme.edu"]);
    let sent = &requests(&server).await[0];
    assert!(sent.headers.get("x-master-key").is_none());
    assert!(sent.headers.get("idempotency-key").is_none());
}

#[tokio::test]
async fn ids_are_percent_encoded_into_one_path_segment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants/a%2Fb%3Fc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json"))))
        .expect(1)
        .mount(&server)
        .await;
    master(&server).tenants().get("a/b?c").await.unwrap();
    let err = master(&server).tenants().get("").await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[tokio::test]
async fn get_with_etag_returns_the_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants/tenant_abc123"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"7\"")
                .set_body_json(data(fixture("tenant.json"))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (tenant, etag) = master(&server)
        .tenants()
        .get_with_etag("tenant_abc123")
        .await
        .unwrap();
    assert_eq!(tenant.id, "tenant_abc123");
    assert_eq!(etag, "\"7\"");
}

#[tokio::test]
async fn get_with_etag_without_the_header_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json"))))
        .mount(&server)
        .await;
    let err = master(&server)
        .tenants()
        .get_with_etag("tenant_abc123")
        .await
        .unwrap_err();
    let Error::Decode { path, .. } = &err else {
        panic!("expected Decode, got {err:?}")
    };
    assert_eq!(path, "<ETag header>");
}

#[tokio::test]
async fn current_is_get_tenant() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenant"))
        .and(header("x-api-key", API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let me = tenant_key(&server).tenants().current().await.unwrap();
    assert_eq!(me.id, "tenant_abc123");
}

#[tokio::test]
async fn update_sends_only_the_fields_given() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/api/v1/tenants/tenant_abc123"))
        .and(header("x-master-key", MASTER_KEY))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "name": "Acme U", "email": null, "external_id": null,
            "rate_limit_per_minute": 50, "status": "suspended"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let request = UpdateTenantRequest {
        name: Some("Acme U".into()),
        email: Patch::Reset,
        external_id: Patch::Reset,
        rate_limit_per_minute: Some(50),
        status: Some(TenantStatus::Suspended),
        ..Default::default()
    };
    master(&server)
        .tenants()
        .update("tenant_abc123", &request)
        .await
        .unwrap();
    let sent = &requests(&server).await[0];
    assert!(sent.headers.get("if-match").is_none());
    assert!(sent.headers.get("idempotency-key").is_none());
}

#[tokio::test]
async fn update_if_match_sends_the_etag() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/api/v1/tenants/tenant_abc123"))
        .and(header("if-match", "\"7\""))
        .and(body_json(
            json!({"email": "new@acme.edu", "external_id": "acme-u"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let request = UpdateTenantRequest {
        email: Patch::Set("new@acme.edu".into()),
        external_id: Patch::Set("acme-u".into()),
        ..Default::default()
    };
    master(&server)
        .tenants()
        .update_if_match("tenant_abc123", "\"7\"", &request)
        .await
        .unwrap();
}

#[tokio::test]
async fn update_if_match_on_a_stale_etag_is_precondition_failed() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(412).set_body_json(error_body(
            "PRECONDITION_FAILED",
            "If-Match does not name the current revision",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let err = master(&server)
        .tenants()
        .update_if_match("tenant_abc123", "\"6\"", &UpdateTenantRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::PreconditionFailed));
    assert_eq!(err.status(), Some(412));
}

#[tokio::test]
async fn delete_returns_deleted() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/tenants/tenant_abc123"))
        .and(header("x-master-key", MASTER_KEY))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(data(json!({"id": "tenant_abc123", "deleted": true}))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let deleted = master(&server)
        .tenants()
        .delete("tenant_abc123")
        .await
        .unwrap();
    assert_eq!(deleted.id, "tenant_abc123");
    assert!(deleted.deleted);
    assert!(requests(&server).await[0].body.is_empty());
}

#[tokio::test]
async fn rotate_key_sends_the_grace_period_and_an_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants/tenant_abc123/rotate-key"))
        .and(header("x-master-key", MASTER_KEY))
        .and(header_exists("idempotency-key"))
        .and(body_json(json!({"expire_previous_in_seconds": 3600})))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(json!({
            "api_key": "sk_live_RotRotRotRotRotRotRotRotRotRotRo",
            "key_id": "key_rot",
            "previous_key_expires_at": "2026-01-06T11:00:00Z"
        }))))
        .expect(1)
        .mount(&server)
        .await;
    let rotated = master(&server)
        .tenants()
        .rotate_key(
            "tenant_abc123",
            &RotateKeyRequest {
                expire_previous_in_seconds: Some(3600),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        rotated.api_key.expose(),
        "sk_live_RotRotRotRotRotRotRotRotRotRotRo"
    );
    assert_eq!(rotated.key_id, "key_rot");
    assert_eq!(
        rotated.previous_key_expires_at.unwrap().to_rfc3339(),
        "2026-01-06T11:00:00+00:00"
    );
}

#[tokio::test]
async fn rotate_key_with_idempotency_key_and_default_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants/tenant_abc123/rotate-key"))
        .and(header("idempotency-key", "rotate-2026-01"))
        .and(body_json(json!({})))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(json!({
            "api_key": "sk_live_x", "key_id": "key_rot", "previous_key_expires_at": null
        }))))
        .expect(1)
        .mount(&server)
        .await;
    let rotated = master(&server)
        .tenants()
        .rotate_key_with_idempotency_key(
            "tenant_abc123",
            &RotateKeyRequest::default(),
            "rotate-2026-01",
        )
        .await
        .unwrap();
    assert_eq!(rotated.previous_key_expires_at, None);
}

#[tokio::test]
async fn suspend_and_resume_post_without_a_body() {
    let server = MockServer::start().await;
    let mut suspended = fixture("tenant.json");
    suspended["status"] = json!("suspended");
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants/tenant_abc123/suspend"))
        .and(header("x-master-key", MASTER_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(suspended)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/tenants/tenant_abc123/resume"))
        .and(header("x-master-key", MASTER_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let client = master(&server);
    let tenant = client.tenants().suspend("tenant_abc123").await.unwrap();
    assert_eq!(tenant.status, TenantStatus::Suspended);
    let tenant = client.tenants().resume("tenant_abc123").await.unwrap();
    assert_eq!(tenant.status, TenantStatus::Active);
    for sent in requests(&server).await {
        assert!(sent.body.is_empty());
        assert!(sent.headers.get("content-type").is_none());
        assert!(sent.headers.get("idempotency-key").is_none());
    }
}

#[tokio::test]
async fn get_by_external_id_filters_the_list_and_returns_the_one_tenant_or_none() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants"))
        .and(header("x-master-key", MASTER_KEY))
        .and(query_param("external_id", "acme"))
        .and(query_param_is_missing("status"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [tenant("tenant_acme")], "next_cursor": null
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants"))
        .and(query_param("external_id", "nobody"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [], "next_cursor": null})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = master(&server);
    let found = client
        .tenants()
        .get_by_external_id("acme")
        .await
        .unwrap()
        .expect("the tenant");
    assert_eq!(found.id, "tenant_acme");
    assert_eq!(found.external_id.as_deref(), Some("acme"));
    assert_eq!(
        client.tenants().get_by_external_id("nobody").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn get_by_external_id_with_an_impossible_value_is_an_error_not_none() {
    let server = MockServer::start().await;
    let mut body = error_body("INVALID_REQUEST", "external_id: must be 1 to 63 characters");
    body["error"]["details"] =
        json!([{"field": "external_id", "message": "must be 1 to 63 characters"}]);
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants"))
        .and(query_param("external_id", "Acme"))
        .respond_with(ResponseTemplate::new(400).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let err = master(&server)
        .tenants()
        .get_by_external_id("Acme")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some(&ErrorCode::InvalidRequest));
    assert_eq!(err.details()[0].field, "external_id");
}
