//! docs/api.md Tenants: create, list, get, `GET /tenant`, PATCH, DELETE, suspend and resume.

use chalk_server::Policy;
use serde_json::{Value, json};

use crate::common::*;

fn is_api_key(key: &str) -> bool {
    key.strip_prefix("sk_live_")
        .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[tokio::test]
async fn create_returns_the_tenant_with_defaults_and_a_key_shown_once() {
    let app = test_app().await;
    let response = app
        .post("/api/v1/tenants")
        .master()
        .json(json!({"name": "  Acme University  ", "email": "ops@acme.edu"}))
        .send()
        .await;
    response.assert_status(201);
    let data = &response.body["data"];
    assert!(data["id"].as_str().unwrap().starts_with("tenant_"));
    assert_eq!(data["name"], "Acme University", "trimmed");
    assert_eq!(data["email"], "ops@acme.edu");
    assert_eq!(data["status"], "active");
    assert_eq!(data["max_concurrent_rooms"], 100);
    assert_eq!(data["max_participants_per_room"], 10);
    assert_eq!(data["max_recording_duration_minutes"], 120);
    assert_eq!(data["rate_limit_per_minute"], 1000);
    assert_eq!(data["config"]["allow_early_join"], true);
    assert_eq!(data["usage"]["api_keys"], 1);
    assert_eq!(data["usage"]["active_rooms"], 0);
    assert!(is_api_key(data["api_key"].as_str().unwrap()), "{data}");
    assert!(data["key_id"].as_str().unwrap().starts_with("key_"));

    // Shown once: neither a read nor the key list has it.
    let key = data["api_key"].as_str().unwrap();
    let id = data["id"].as_str().unwrap();
    let read = app.read_tenant(id).await;
    read.assert_status(200);
    assert!(!read.text.contains(key));
    assert!(read.body["data"].get("api_key").is_none());
    let keys = app
        .get(&format!("/api/v1/tenants/{id}/api-keys"))
        .master()
        .send()
        .await;
    assert!(!keys.text.contains(key));
    // The key works.
    app.get("/api/v1/tenant")
        .key(key)
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn create_honors_quotas_config_and_the_server_default_rate_limit() {
    let app = test_app_with(Policy {
        default_rate_limit: 77,
        ..Policy::default()
    })
    .await;
    let tenant = app
        .create_tenant(json!({"name": "Acme", "max_concurrent_rooms": 50,
            "max_participants_per_room": 25, "max_recording_duration_minutes": 180,
            "config": {"force_recording": true, "allowed_origins": ["https://acme.edu"]}}))
        .await;
    assert_eq!(tenant.body["max_concurrent_rooms"], 50);
    assert_eq!(tenant.body["max_participants_per_room"], 25);
    assert_eq!(tenant.body["max_recording_duration_minutes"], 180);
    assert_eq!(tenant.body["rate_limit_per_minute"], 77);
    assert_eq!(tenant.body["config"]["force_recording"], true);
    let read = app.read_tenant(&tenant.id).await;
    assert_eq!(
        read.body["data"]["config"]["allowed_origins"],
        json!(["https://acme.edu"])
    );
}

#[tokio::test]
async fn create_needs_the_master_key_unless_registration_is_open() {
    let app = test_app().await;
    let other = app.tenant("Other").await;
    let body = json!({"name": "Acme"});
    app.post("/api/v1/tenants")
        .json(body.clone())
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.post("/api/v1/tenants")
        .key(&other.key)
        .json(body.clone())
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    let list = app.get("/api/v1/tenants").master().send().await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);

    let open = test_app_with(Policy {
        open_registration: true,
        ..Policy::default()
    })
    .await;
    let response = open.post("/api/v1/tenants").json(body).send().await;
    response.assert_status(201);
    let response = open
        .post("/api/v1/tenants")
        .json(json!({"name": "Greedy", "max_concurrent_rooms": 100000, "rate_limit_per_minute": 5}))
        .send()
        .await;
    response.assert_error(403, "FORBIDDEN");
    assert!(response.message().contains("max_concurrent_rooms"));
    let list = open.get("/api/v1/tenants").master().send().await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn create_reports_every_bad_field_at_once_and_creates_nothing() {
    let app = test_app().await;
    let response = app
        .post("/api/v1/tenants")
        .master()
        .json(
            json!({"name": "   ", "email": "not-an-email", "max_concurrent_rooms": 0,
            "max_participants_per_room": 10001, "max_recording_duration_minutes": 1441,
            "rate_limit_per_minute": 1000001,
            "config": {"empty_room_timeout_minutes": 0, "allowed_origins": ["ftp://x"]}}),
        )
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    let fields = response.fields();
    for field in [
        "name",
        "email",
        "max_concurrent_rooms",
        "max_participants_per_room",
        "max_recording_duration_minutes",
        "rate_limit_per_minute",
        "config.empty_room_timeout_minutes",
        "config.allowed_origins[0]",
    ] {
        assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
    }
    for (name, ok) in [
        ("x".repeat(200), true),
        ("x".repeat(201), false),
        ("é".repeat(200), true),
    ] {
        let response = app
            .post("/api/v1/tenants")
            .master()
            .json(json!({ "name": name }))
            .send()
            .await;
        if ok {
            response.assert_status(201);
        } else {
            response.assert_error(422, "VALIDATION_ERROR");
            assert_eq!(response.fields(), ["name"]);
        }
    }
    let response = app
        .post("/api/v1/tenants")
        .master()
        .json(json!({}))
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(response.fields(), ["name"]);
    let list = app.get("/api/v1/tenants").master().send().await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn quota_bounds_are_inclusive() {
    let app = test_app().await;
    for quotas in [
        json!({"max_concurrent_rooms": 1, "max_participants_per_room": 1,
            "max_recording_duration_minutes": 1, "rate_limit_per_minute": 1}),
        json!({"max_concurrent_rooms": 100000, "max_participants_per_room": 10000,
            "max_recording_duration_minutes": 1440, "rate_limit_per_minute": 1000000}),
    ] {
        let mut body = quotas.clone();
        body["name"] = json!("Edge");
        let tenant = app.create_tenant(body).await;
        for (field, value) in quotas.as_object().unwrap() {
            assert_eq!(&tenant.body[field], value);
        }
    }
}

#[tokio::test]
async fn email_is_unique_across_tenants() {
    let app = test_app().await;
    let first = app
        .create_tenant(json!({"name": "A", "email": "ops@acme.edu"}))
        .await;
    let response = app
        .post("/api/v1/tenants")
        .master()
        .json(json!({"name": "B", "email": "ops@acme.edu"}))
        .send()
        .await;
    response.assert_error(409, "CONFLICT");
    assert_eq!(response.fields(), ["email"]);
    let second = app
        .create_tenant(json!({"name": "B", "email": "b@acme.edu"}))
        .await;
    let response = app
        .patch(&format!("/api/v1/tenants/{}", second.id))
        .master()
        .json(json!({"email": "ops@acme.edu"}))
        .send()
        .await;
    response.assert_error(409, "CONFLICT");
    let read = app.read_tenant(&second.id).await;
    assert_eq!(read.body["data"]["email"], "b@acme.edu", "unchanged");
    // Clearing frees the address.
    app.patch(&format!("/api/v1/tenants/{}", first.id))
        .master()
        .json(json!({"email": null}))
        .send()
        .await
        .assert_status(200);
    let read = app.read_tenant(&first.id).await;
    assert!(read.body["data"]["email"].is_null());
    app.patch(&format!("/api/v1/tenants/{}", second.id))
        .master()
        .json(json!({"email": "ops@acme.edu"}))
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn list_is_master_only_and_filters_by_status() {
    let app = test_app().await;
    let a = app.tenant("A").await;
    let b = app.tenant("B").await;
    app.post(&format!("/api/v1/tenants/{}/suspend", b.id))
        .master()
        .send()
        .await
        .assert_status(200);
    app.get("/api/v1/tenants")
        .key(&a.key)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.get("/api/v1/tenants")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    let ids = |r: &Response| -> Vec<String> {
        r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.get("/api/v1/tenants").master().send().await;
    assert_eq!(ids(&all), [a.id.clone(), b.id.clone()]);
    let active = app
        .get("/api/v1/tenants?status=active")
        .master()
        .send()
        .await;
    assert_eq!(ids(&active), [a.id.as_str()]);
    let suspended = app
        .get("/api/v1/tenants?status=suspended")
        .master()
        .send()
        .await;
    assert_eq!(ids(&suspended), [b.id.as_str()]);
    assert_eq!(suspended.body["data"][0]["status"], "suspended");
}

#[tokio::test]
async fn get_is_for_the_master_key_or_the_tenant_itself() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    let path = format!("/api/v1/tenants/{}", acme.id);

    let by_master = app.get(&path).master().send().await;
    by_master.assert_status(200);
    assert_eq!(by_master.body["data"]["id"], acme.id.as_str());
    assert!(by_master.body["data"]["config"].is_object());
    assert!(by_master.body["data"]["usage"].is_object());
    let etag = by_master.etag();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    let by_self = app.get(&path).key(&acme.key).send().await;
    by_self.assert_status(200);
    assert_eq!(by_self.etag(), etag);
    let token = app.token(&acme.key).await;
    app.get(&path)
        .bearer(&token.access)
        .send()
        .await
        .assert_status(200);

    // Another tenant's id is exactly as absent as an unknown one.
    let foreign = app.get(&path).key(&other.key).send().await;
    foreign.assert_error(404, "NOT_FOUND");
    let unknown = app
        .get("/api/v1/tenants/tenant_nope")
        .key(&other.key)
        .send()
        .await;
    unknown.assert_error(404, "NOT_FOUND");
    assert_eq!(foreign.message(), unknown.message());
    app.get("/api/v1/tenants/tenant_nope")
        .master()
        .send()
        .await
        .assert_error(404, "NOT_FOUND");

    let (rooms_key, _) = app.scoped_key(&acme, &["rooms:read"]).await;
    app.get(&path)
        .key(&rooms_key)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    let (read_key, _) = app.scoped_key(&acme, &["tenant:read"]).await;
    app.get(&path)
        .key(&read_key)
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn get_tenant_is_the_caller_itself_for_any_tenant_credential() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    app.tenant("Other").await;
    let (rooms_key, _) = app.scoped_key(&acme, &["rooms:read"]).await;
    let token = app.token(&rooms_key).await;
    for response in [
        app.get("/api/v1/tenant").key(&acme.key).send().await,
        app.get("/api/v1/tenant").key(&rooms_key).send().await,
        app.get("/api/v1/tenant").bearer(&token.access).send().await,
    ] {
        response.assert_status(200);
        assert_eq!(response.body["data"]["id"], acme.id.as_str());
        assert_eq!(response.body["data"]["usage"]["api_keys"], 2);
    }
    app.get("/api/v1/tenant")
        .master()
        .send()
        .await
        .assert_error(400, "INVALID_REQUEST");
    app.get("/api/v1/tenant")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn patch_changes_only_the_fields_given() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "email": "ops@acme.edu"}))
        .await;
    let path = format!("/api/v1/tenants/{}", acme.id);
    let before = app.read_tenant(&acme.id).await;
    let response = app
        .patch(&path)
        .key(&acme.key)
        .json(json!({"name": "Acme University"}))
        .send()
        .await;
    response.assert_status(200);
    let data = &response.body["data"];
    assert_eq!(data["name"], "Acme University");
    assert_eq!(data["email"], "ops@acme.edu");
    assert_eq!(data["config"], before.body["data"]["config"]);
    assert_ne!(response.etag(), before.etag(), "a write moves the ETag");
    let after = app.read_tenant(&acme.id).await;
    assert_eq!(after.body["data"]["name"], "Acme University");
    assert_eq!(after.etag(), response.etag());

    // An empty patch writes nothing.
    let response = app.patch(&path).key(&acme.key).json(json!({})).send().await;
    response.assert_status(200);
    assert_eq!(response.etag(), after.etag());
}

#[tokio::test]
async fn quotas_and_status_need_the_master_key() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = format!("/api/v1/tenants/{}", acme.id);
    let before = app.read_tenant(&acme.id).await;
    for body in [
        json!({"max_concurrent_rooms": 5}),
        json!({"rate_limit_per_minute": 5}),
        json!({"status": "suspended"}),
        json!({"name": "Sneaky", "max_participants_per_room": 500}),
    ] {
        let response = app.patch(&path).key(&acme.key).json(body).send().await;
        response.assert_error(403, "FORBIDDEN");
    }
    let after = app.read_tenant(&acme.id).await;
    assert_eq!(after.body, before.body, "nothing changed");
    assert_eq!(after.etag(), before.etag());

    let response = app
        .patch(&path)
        .master()
        .json(
            json!({"max_concurrent_rooms": 5, "max_participants_per_room": 6,
            "max_recording_duration_minutes": 7, "rate_limit_per_minute": 8}),
        )
        .send()
        .await;
    response.assert_status(200);
    let data = &response.body["data"];
    assert_eq!(
        [
            &data["max_concurrent_rooms"],
            &data["max_participants_per_room"],
            &data["max_recording_duration_minutes"],
            &data["rate_limit_per_minute"]
        ],
        [&json!(5), &json!(6), &json!(7), &json!(8)]
    );
    let response = app
        .patch(&path)
        .master()
        .json(json!({"status": "suspended"}))
        .send()
        .await;
    response.assert_status(200);
    assert_eq!(response.body["data"]["status"], "suspended");
}

#[tokio::test]
async fn patch_needs_tenant_admin() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let (read_key, _) = app.scoped_key(&acme, &["tenant:read", "rooms:write"]).await;
    let path = format!("/api/v1/tenants/{}", acme.id);
    app.patch(&path)
        .key(&read_key)
        .json(json!({"name": "x"}))
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    let other = app.tenant("Other").await;
    app.patch(&path)
        .key(&other.key)
        .json(json!({"name": "x"}))
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.patch("/api/v1/tenants/tenant_nope")
        .master()
        .json(json!({"name": "x"}))
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    assert_eq!(app.read_tenant(&acme.id).await.body["data"]["name"], "Acme");
}

#[tokio::test]
async fn patch_reports_every_bad_field_and_changes_nothing() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let before = app.read_tenant(&acme.id).await;
    let response = app
        .patch(&format!("/api/v1/tenants/{}", acme.id))
        .master()
        .json(
            json!({"name": "", "email": "nope", "max_concurrent_rooms": 0,
            "max_participants_per_room": 0, "max_recording_duration_minutes": 0,
            "rate_limit_per_minute": 0}),
        )
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(
        response.fields(),
        [
            "name",
            "email",
            "max_concurrent_rooms",
            "max_participants_per_room",
            "max_recording_duration_minutes",
            "rate_limit_per_minute"
        ]
    );
    for (body, field) in [
        (json!({"status": "deleted"}), "status"),
        (json!({"nmae": "x"}), "nmae"),
        (json!({"name": null}), "name"),
        (json!({"max_concurrent_rooms": "5"}), "max_concurrent_rooms"),
    ] {
        let response = app
            .patch(&format!("/api/v1/tenants/{}", acme.id))
            .master()
            .json(body.clone())
            .send()
            .await;
        response.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(response.fields(), [field], "{body}");
    }
    let after = app.read_tenant(&acme.id).await;
    assert_eq!(after.body, before.body);
    assert_eq!(after.etag(), before.etag());
}

#[tokio::test]
async fn if_match_guards_tenant_writes() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = format!("/api/v1/tenants/{}", acme.id);
    let etag = app.read_tenant(&acme.id).await.etag();
    let first = app
        .patch(&path)
        .master()
        .header("If-Match", &etag)
        .json(json!({"name": "First"}))
        .send()
        .await;
    first.assert_status(200);
    // The second writer read the same revision: it must not overwrite.
    let second = app
        .patch(&path)
        .master()
        .header("If-Match", &etag)
        .json(json!({"name": "Second"}))
        .send()
        .await;
    second.assert_error(412, "PRECONDITION_FAILED");
    for stale in ["\"999\"", "garbage", "W/\"0\""] {
        app.patch(&path)
            .master()
            .header("If-Match", stale)
            .json(json!({"name": "Third"}))
            .send()
            .await
            .assert_error(412, "PRECONDITION_FAILED");
    }
    // Even an empty patch checks the precondition.
    app.patch(&path)
        .master()
        .header("If-Match", &etag)
        .json(json!({}))
        .send()
        .await
        .assert_error(412, "PRECONDITION_FAILED");
    assert_eq!(
        app.read_tenant(&acme.id).await.body["data"]["name"],
        "First"
    );
    let response = app
        .patch(&path)
        .master()
        .header("If-Match", &first.etag())
        .json(json!({"name": "Fourth"}))
        .send()
        .await;
    response.assert_status(200);
    app.patch(&path)
        .master()
        .header("If-Match", "*")
        .json(json!({"name": "Fifth"}))
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn delete_removes_the_tenant_and_stops_its_keys_and_tokens_at_once() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    let (extra_key, _) = app.scoped_key(&acme, &["tenant:read"]).await;
    let pair = app.token(&acme.key).await;
    let path = format!("/api/v1/tenants/{}", acme.id);

    app.delete(&path)
        .key(&other.key)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.delete(&path)
        .key(&extra_key)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    let response = app.delete(&path).key(&acme.key).send().await;
    response.assert_status(200);
    assert_eq!(
        response.body,
        json!({"data": {"id": acme.id, "deleted": true}})
    );

    app.read_tenant(&acme.id)
        .await
        .assert_error(404, "NOT_FOUND");
    for key in [&acme.key, &extra_key] {
        app.get("/api/v1/tenant")
            .key(key)
            .send()
            .await
            .assert_error(401, "UNAUTHORIZED");
        app.post("/api/v1/auth/token")
            .json(json!({ "api_key": key }))
            .send()
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
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
    app.delete(&path)
        .master()
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.get(&format!("{path}/api-keys"))
        .master()
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    // The store holds nothing of it any more; the other tenant is untouched.
    assert!(
        chalk_server::store::tenants::get(&mut app.state.store.read().await.unwrap(), &acme.id)
            .await
            .unwrap()
            .is_none()
    );
    let list = app.get("/api/v1/tenants").master().send().await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    app.get("/api/v1/tenant")
        .key(&other.key)
        .send()
        .await
        .assert_status(200);
    // The master key may delete too.
    app.delete(&format!("/api/v1/tenants/{}", other.id))
        .master()
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn suspend_refuses_every_credential_and_resume_restores_them() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let (extra_key, _) = app.scoped_key(&acme, &["tenant:read"]).await;
    let pair = app.token(&acme.key).await;
    let suspend = format!("/api/v1/tenants/{}/suspend", acme.id);
    let resume = format!("/api/v1/tenants/{}/resume", acme.id);

    app.post(&suspend)
        .key(&acme.key)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.post(&suspend)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.post("/api/v1/tenants/tenant_nope/suspend")
        .master()
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    let response = app.post(&suspend).master().send().await;
    response.assert_status(200);
    assert_eq!(response.body["data"]["status"], "suspended");
    assert!(response.header("etag").is_some());

    let check_suspended = |r: Response| {
        r.assert_error(403, "TENANT_SUSPENDED");
    };
    check_suspended(app.get("/api/v1/tenant").key(&acme.key).send().await);
    check_suspended(app.get("/api/v1/tenant").key(&extra_key).send().await);
    check_suspended(app.get("/api/v1/tenant").bearer(&pair.access).send().await);
    check_suspended(
        app.post("/api/v1/auth/token")
            .json(json!({"api_key": acme.key}))
            .send()
            .await,
    );
    check_suspended(app.post(&resume).key(&acme.key).send().await);

    // Nothing was deleted: the master key still sees the tenant and its keys.
    let keys = app
        .get(&format!("/api/v1/tenants/{}/api-keys", acme.id))
        .master()
        .send()
        .await;
    assert_eq!(keys.body["data"].as_array().unwrap().len(), 2);

    let response = app.post(&resume).master().send().await;
    response.assert_status(200);
    assert_eq!(response.body["data"]["status"], "active");
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_status(200);
    app.get("/api/v1/tenant")
        .key(&extra_key)
        .send()
        .await
        .assert_status(200);
    app.get("/api/v1/tenant")
        .bearer(&pair.access)
        .send()
        .await
        .assert_status(200);
    let refreshed = app
        .post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": pair.refresh}))
        .send()
        .await;
    refreshed.assert_status(200);
}

#[tokio::test]
async fn rotate_key_replaces_the_primary_key_at_once_by_default() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let old_pair = app.token(&acme.key).await;
    let path = format!("/api/v1/tenants/{}/rotate-key", acme.id);
    let response = app.post(&path).key(&acme.key).send().await;
    response.assert_status(200);
    let data = &response.body["data"];
    let new_key = data["api_key"].as_str().unwrap();
    assert!(is_api_key(new_key));
    assert_ne!(new_key, acme.key);
    assert!(data["key_id"].as_str().unwrap().starts_with("key_"));
    assert!(data["previous_key_expires_at"].is_null());

    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.get("/api/v1/tenant")
        .bearer(&old_pair.access)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": old_pair.refresh}))
        .send()
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
    app.get("/api/v1/tenant")
        .key(new_key)
        .send()
        .await
        .assert_status(200);

    let keys = app
        .get(&format!("/api/v1/tenants/{}/api-keys", acme.id))
        .master()
        .send()
        .await;
    let keys = keys.body["data"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], data["key_id"]);
    assert_eq!(keys[0]["primary"], true);
    assert_eq!(keys[0]["scopes"].as_array().unwrap().len(), 4, "all scopes");
}

#[tokio::test]
async fn rotate_key_with_a_grace_period_keeps_the_previous_key_working() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let old_pair = app.token(&acme.key).await;
    let response = app
        .post(&format!("/api/v1/tenants/{}/rotate-key", acme.id))
        .master()
        .json(json!({"expire_previous_in_seconds": 3600}))
        .send()
        .await;
    response.assert_status(200);
    let expires = response.body["data"]["previous_key_expires_at"]
        .as_str()
        .unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(expires).unwrap();
    let delta = expires.timestamp() - chrono::Utc::now().timestamp();
    assert!((3590..=3600).contains(&delta), "{delta}");
    let new_key = response.body["data"]["api_key"].as_str().unwrap();
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_status(200);
    app.get("/api/v1/tenant")
        .bearer(&old_pair.access)
        .send()
        .await
        .assert_status(200);
    app.get("/api/v1/tenant")
        .key(new_key)
        .send()
        .await
        .assert_status(200);

    let keys = app
        .get(&format!("/api/v1/tenants/{}/api-keys", acme.id))
        .master()
        .send()
        .await;
    let keys = keys.body["data"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    let primaries: Vec<&Value> = keys.iter().filter(|k| k["primary"] == true).collect();
    assert_eq!(primaries.len(), 1);
    assert_eq!(primaries[0]["id"], response.body["data"]["key_id"]);
    let previous = keys
        .iter()
        .find(|k| k["id"] == acme.key_id.as_str())
        .unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(previous["expires_at"].as_str().unwrap()).unwrap(),
        expires
    );
    // The old primary is no longer primary: revoking it now is allowed and immediate.
    app.delete(&format!(
        "/api/v1/tenants/{}/api-keys/{}",
        acme.id, acme.key_id
    ))
    .master()
    .send()
    .await
    .assert_status(200);
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn rotate_key_validates_its_optional_body_and_access() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    let path = format!("/api/v1/tenants/{}/rotate-key", acme.id);
    for (body, field) in [
        (
            json!({"expire_previous_in_seconds": -1}),
            "expire_previous_in_seconds",
        ),
        (
            json!({"expire_previous_in_seconds": 604801}),
            "expire_previous_in_seconds",
        ),
        (
            json!({"expire_previous_in_seconds": "soon"}),
            "expire_previous_in_seconds",
        ),
        (json!({"expire_previous": 5}), "expire_previous"),
    ] {
        let response = app.post(&path).master().json(body).send().await;
        response.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(response.fields(), [field]);
    }
    app.post(&path)
        .master()
        .raw("expire=5")
        .send()
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    app.post(&path)
        .master()
        .header("Content-Type", "application/json")
        .raw("{")
        .send()
        .await
        .assert_error(400, "INVALID_REQUEST");
    app.post(&path)
        .key(&other.key)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    let (read_key, _) = app.scoped_key(&acme, &["tenant:read"]).await;
    app.post(&path)
        .key(&read_key)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.post("/api/v1/tenants/tenant_nope/rotate-key")
        .master()
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    // None of that rotated anything.
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_status(200);
    // The bounds themselves are accepted; `null` and `{}` mean the default.
    for body in [
        json!({"expire_previous_in_seconds": 604800}),
        json!({"expire_previous_in_seconds": 0}),
        json!({}),
        json!(null),
    ] {
        app.post(&path)
            .master()
            .json(body)
            .send()
            .await
            .assert_status(200);
    }
}

// --- external_id ---

fn ids_of(response: &Response) -> Vec<String> {
    response.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn stored_external_id(app: &TestApp, id: &str) -> Option<String> {
    let mut db = app.state.store.read().await.unwrap();
    chalk_server::store::tenants::get(&mut db, id)
        .await
        .unwrap()
        .unwrap()
        .external_id
}

#[tokio::test]
async fn external_id_is_set_on_create_and_shown_everywhere() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "external_id": "acme.edu_2-b"}))
        .await;
    assert_eq!(acme.body["external_id"], "acme.edu_2-b");
    assert_eq!(
        stored_external_id(&app, &acme.id).await.as_deref(),
        Some("acme.edu_2-b")
    );
    let read = app.read_tenant(&acme.id).await;
    assert_eq!(read.body["data"]["external_id"], "acme.edu_2-b");
    let own = app.get("/api/v1/tenant").key(&acme.key).send().await;
    own.assert_status(200);
    assert_eq!(own.body["data"]["external_id"], "acme.edu_2-b");

    // Unset is an explicit null, not a missing field.
    let plain = app.tenant("Plain").await;
    assert_eq!(plain.body.get("external_id"), Some(&Value::Null));
    assert_eq!(stored_external_id(&app, &plain.id).await, None);
    let list = app.get("/api/v1/tenants").master().send().await;
    list.assert_status(200);
    assert_eq!(list.body["data"][0]["external_id"], "acme.edu_2-b");
    assert_eq!(list.body["data"][1].get("external_id"), Some(&Value::Null));

    // The longest allowed value is accepted.
    let longest = format!("a{}", "9".repeat(62));
    let long = app
        .create_tenant(json!({"name": "Long", "external_id": longest}))
        .await;
    assert_eq!(long.body["external_id"], json!(longest));
}

#[tokio::test]
async fn external_id_is_unique_across_tenants() {
    let app = test_app().await;
    let first = app
        .create_tenant(json!({"name": "A", "external_id": "acme"}))
        .await;
    let response = app
        .post("/api/v1/tenants")
        .master()
        .json(json!({"name": "B", "external_id": "acme"}))
        .send()
        .await;
    response.assert_error(409, "CONFLICT");
    assert_eq!(response.fields(), ["external_id"]);
    assert!(
        response.message().contains("external_id"),
        "{}",
        response.message()
    );
    let list = app.get("/api/v1/tenants").master().send().await;
    assert_eq!(ids_of(&list), [first.id.as_str()], "nothing was created");

    // Taking it by PATCH is refused too, and changes nothing.
    let second = app
        .create_tenant(json!({"name": "B", "external_id": "b"}))
        .await;
    let path = format!("/api/v1/tenants/{}", second.id);
    let before = app.read_tenant(&second.id).await;
    let response = app
        .patch(&path)
        .master()
        .json(json!({"external_id": "acme", "name": "B2"}))
        .send()
        .await;
    response.assert_error(409, "CONFLICT");
    assert_eq!(response.fields(), ["external_id"]);
    let after = app.read_tenant(&second.id).await;
    assert_eq!(after.body, before.body, "unchanged");
    assert_eq!(
        stored_external_id(&app, &second.id).await.as_deref(),
        Some("b")
    );

    // Clearing (null) frees it; the PATCH answer shows the change.
    let response = app
        .patch(&format!("/api/v1/tenants/{}", first.id))
        .master()
        .json(json!({"external_id": null}))
        .send()
        .await;
    response.assert_status(200);
    assert_eq!(response.body["data"].get("external_id"), Some(&Value::Null));
    assert_eq!(stored_external_id(&app, &first.id).await, None);
    let response = app
        .patch(&path)
        .master()
        .json(json!({"external_id": "acme"}))
        .send()
        .await;
    response.assert_status(200);
    assert_eq!(response.body["data"]["external_id"], "acme");
    assert_eq!(response.body["data"]["name"], "B", "only the field given");
    assert_eq!(
        stored_external_id(&app, &second.id).await.as_deref(),
        Some("acme")
    );
    // Setting a tenant's own value again is no conflict with itself.
    app.patch(&path)
        .master()
        .json(json!({"external_id": "acme"}))
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn external_id_must_match_its_pattern_exactly() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "external_id": "acme"}))
        .await;
    let too_long = format!("a{}", "b".repeat(63));
    for bad in [
        json!(""),
        json!("Acme"),
        json!(" acme"),
        json!("-acme"),
        json!(".acme"),
        json!("ac/me"),
        json!("acmé"),
        json!(too_long),
        json!(5),
    ] {
        let response = app
            .post("/api/v1/tenants")
            .master()
            .json(json!({"name": "New", "external_id": bad}))
            .send()
            .await;
        response.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(response.fields(), ["external_id"], "create with {bad}");

        let response = app
            .patch(&format!("/api/v1/tenants/{}", acme.id))
            .master()
            .json(json!({"external_id": bad}))
            .send()
            .await;
        response.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(response.fields(), ["external_id"], "patch with {bad}");
    }
    let list = app.get("/api/v1/tenants").master().send().await;
    assert_eq!(ids_of(&list), [acme.id.as_str()], "nothing was created");
    assert_eq!(
        stored_external_id(&app, &acme.id).await.as_deref(),
        Some("acme")
    );
}

#[tokio::test]
async fn list_filters_by_external_id() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "external_id": "acme"}))
        .await;
    app.create_tenant(json!({"name": "Other", "external_id": "other"}))
        .await;
    app.tenant("None").await;

    let found = app
        .get("/api/v1/tenants?external_id=acme")
        .master()
        .send()
        .await;
    found.assert_status(200);
    assert_eq!(ids_of(&found), [acme.id.as_str()]);
    assert_eq!(found.body["data"][0]["external_id"], "acme");
    assert_eq!(found.body["next_cursor"], Value::Null);

    let nothing = app
        .get("/api/v1/tenants?external_id=nobody")
        .master()
        .send()
        .await;
    nothing.assert_status(200);
    assert_eq!(nothing.body["data"], json!([]));
    assert_eq!(nothing.body["next_cursor"], Value::Null);

    // It combines with the status filter.
    let suspended = app
        .get("/api/v1/tenants?external_id=acme&status=suspended")
        .master()
        .send()
        .await;
    suspended.assert_status(200);
    assert_eq!(suspended.body["data"], json!([]));

    // A value no tenant could hold is the caller's mistake, like a bad `?limit=`.
    for bad in ["Acme", "", "a%20b", "-x"] {
        let response = app
            .get(&format!("/api/v1/tenants?external_id={bad}"))
            .master()
            .send()
            .await;
        response.assert_error(400, "INVALID_REQUEST");
        assert_eq!(response.fields(), ["external_id"], "?external_id={bad}");
    }
    // The master key only, as for the rest of the list.
    app.get("/api/v1/tenants?external_id=acme")
        .key(&acme.key)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
}

#[tokio::test]
async fn only_the_master_key_sets_or_clears_external_id() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "external_id": "acme"}))
        .await;
    let path = format!("/api/v1/tenants/{}", acme.id);
    let before = app.read_tenant(&acme.id).await;
    // The primary key holds tenant:admin, and may rename the tenant, but not this.
    for body in [
        json!({"external_id": "mine"}),
        json!({"external_id": null}),
        json!({"external_id": "acme"}),
        json!({"name": "Sneaky", "external_id": "mine"}),
    ] {
        let response = app
            .patch(&path)
            .key(&acme.key)
            .json(body.clone())
            .send()
            .await;
        response.assert_error(403, "FORBIDDEN");
        assert_eq!(response.fields(), ["external_id"], "{body}");
        assert!(response.message().contains("external_id"), "{body}");
    }
    let after = app.read_tenant(&acme.id).await;
    assert_eq!(after.body, before.body, "nothing changed");
    assert_eq!(after.etag(), before.etag());
    assert_eq!(
        stored_external_id(&app, &acme.id).await.as_deref(),
        Some("acme")
    );

    // Every operator-only field is named, the quotas with it.
    let response = app
        .patch(&path)
        .key(&acme.key)
        .json(json!({"external_id": "mine", "max_concurrent_rooms": 5}))
        .send()
        .await;
    response.assert_error(403, "FORBIDDEN");
    assert_eq!(response.fields(), ["max_concurrent_rooms", "external_id"]);

    // The master key may.
    let response = app
        .patch(&path)
        .master()
        .json(json!({"external_id": "acme-university"}))
        .send()
        .await;
    response.assert_status(200);
    assert_eq!(response.body["data"]["external_id"], "acme-university");

    // Under open registration, a self-registering caller cannot claim one.
    let open = test_app_with(Policy {
        open_registration: true,
        ..Policy::default()
    })
    .await;
    let response = open
        .post("/api/v1/tenants")
        .json(json!({"name": "Squatter", "external_id": "acme"}))
        .send()
        .await;
    response.assert_error(403, "FORBIDDEN");
    assert_eq!(response.fields(), ["external_id"]);
    let list = open.get("/api/v1/tenants").master().send().await;
    assert_eq!(list.body["data"], json!([]), "nothing was created");
    let created = open
        .create_tenant(json!({"name": "Operator's", "external_id": "acme"}))
        .await;
    assert_eq!(created.body["external_id"], "acme");
}
