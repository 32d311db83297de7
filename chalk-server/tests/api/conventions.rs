//! docs/api.md Conventions and Credentials: the envelope, request ids, body handling, every
//! framework-made error, pagination and the one-credential rule.

use axum::http::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn success_is_wrapped_in_data_and_carries_a_request_id() {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    let response = app.get("/api/v1/tenant").key(&tenant.key).send().await;
    response.assert_status(200);
    assert_eq!(response.body["data"]["id"], tenant.id.as_str());
    let id = response.header("x-request-id").unwrap();
    assert!(id.starts_with("req_"), "{id}");
    assert!(
        response.body["data"]["created_at"]
            .as_str()
            .unwrap()
            .ends_with('Z'),
        "timestamps are RFC 3339 UTC with Z"
    );
}

#[tokio::test]
async fn a_valid_incoming_request_id_is_echoed_and_a_bad_one_replaced() {
    let app = test_app().await;
    let response = app
        .get("/api/v1/nowhere")
        .header("X-Request-Id", "ci-job-42.step:3")
        .send()
        .await;
    response.assert_error(404, "NOT_FOUND");
    assert_eq!(response.header("x-request-id"), Some("ci-job-42.step:3"));
    assert_eq!(response.body["error"]["request_id"], "ci-job-42.step:3");

    let response = app
        .get("/healthz")
        .header("X-Request-Id", "forged log line\tinjection")
        .send()
        .await;
    response.assert_status(200);
    let id = response.header("x-request-id").unwrap();
    assert!(id.starts_with("req_"), "an unsafe id is replaced: {id}");

    let long = "a".repeat(129);
    let response = app
        .get("/healthz")
        .header("X-Request-Id", &long)
        .send()
        .await;
    assert_ne!(response.header("x-request-id"), Some(long.as_str()));
}

#[tokio::test]
async fn malformed_json_is_400_saying_where() {
    let app = test_app().await;
    let response = app
        .post("/api/v1/tenants")
        .master()
        .header("Content-Type", "application/json")
        .raw("{\"name\": \"Acme\",\n  oops}")
        .send()
        .await;
    response.assert_error(400, "INVALID_REQUEST");
    assert!(
        response.message().contains("line 2"),
        "{}",
        response.message()
    );
    let response = app
        .post("/api/v1/tenants")
        .master()
        .header("Content-Type", "application/json")
        .send()
        .await;
    response.assert_error(400, "INVALID_REQUEST");
    assert_eq!(
        app.get("/api/v1/tenants").master().send().await.body["data"],
        json!([]),
        "nothing was created"
    );
}

#[tokio::test]
async fn a_body_without_json_content_type_is_415() {
    let app = test_app().await;
    let response = app
        .post("/api/v1/tenants")
        .master()
        .raw(r#"{"name": "Acme"}"#)
        .send()
        .await;
    response.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let response = app
        .post("/api/v1/tenants")
        .master()
        .header("Content-Type", "text/plain")
        .raw(r#"{"name": "Acme"}"#)
        .send()
        .await;
    response.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    // Parameters and +json types are JSON too.
    let response = app
        .post("/api/v1/tenants")
        .master()
        .header("Content-Type", "application/json; charset=utf-8")
        .raw(r#"{"name": "Acme"}"#)
        .send()
        .await;
    response.assert_status(201);
}

#[tokio::test]
async fn a_body_over_64_kib_is_413() {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    let big = json!({ "name": "x".repeat(64 * 1024) });
    let response = app.post("/api/v1/tenants").master().json(big).send().await;
    response.assert_error(413, "PAYLOAD_TOO_LARGE");
    let response = app
        .patch(&format!("/api/v1/tenants/{}/config", tenant.id))
        .master()
        .json(json!({"transcription_keywords": vec!["k".repeat(100); 700]}))
        .send()
        .await;
    response.assert_error(413, "PAYLOAD_TOO_LARGE");
    // Just under the limit is read (and then judged on its content).
    let almost = json!({ "name": "x".repeat(64 * 1024 - 20) });
    let response = app
        .post("/api/v1/tenants")
        .master()
        .json(almost)
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(response.fields(), ["name"]);
}

#[tokio::test]
async fn unknown_route_is_404_and_wrong_method_is_405_in_the_envelope() {
    let app = test_app().await;
    for path in [
        "/",
        "/api/v1/nowhere",
        "/api/v2/tenants",
        "/api/v1/tenants/a/b/c",
    ] {
        let response = app.get(path).master().send().await;
        response.assert_error(404, "NOT_FOUND");
    }
    // Credentials are not checked on a route that does not exist.
    let response = app.get("/api/v1/nowhere").key("garbage").send().await;
    response.assert_error(404, "NOT_FOUND");

    for (method, path) in [
        (Method::PUT, "/api/v1/tenants"),
        (Method::DELETE, "/api/v1/tenants"),
        (Method::POST, "/api/v1/tenant"),
        (Method::GET, "/api/v1/auth/token"),
        (Method::PUT, "/api/v1/tenants/tenant_x/config"),
        (Method::POST, "/healthz"),
    ] {
        let response = app.call(method.clone(), path).master().send().await;
        response.assert_error(405, "METHOD_NOT_ALLOWED");
    }
}

#[tokio::test]
async fn a_panic_is_500_internal_without_internals() {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    // Poison the lock the API-key path takes, so the next API-key request panics inside
    // the server.
    let state = app.state.clone();
    let _ = std::thread::spawn(move || {
        let _guard = state.key_uses.lock().unwrap();
        panic!("poisoning the key-use lock for the test");
    })
    .join();
    let response = app.get("/api/v1/tenant").key(&tenant.key).send().await;
    let error = response.assert_error(500, "INTERNAL");
    assert_eq!(error["message"], "Internal server error");
    assert!(!response.text.contains("poison"), "{}", response.text);
    // The server keeps serving.
    app.get("/healthz").send().await.assert_status(200);
}

#[tokio::test]
async fn unreadable_stored_data_is_500_without_internals() {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    let mut db = app.state.store.begin().await.unwrap();
    sqlx::query("UPDATE tenants SET config = 'not json' WHERE id = $1")
        .bind(&tenant.id)
        .execute(db.conn().unwrap())
        .await
        .unwrap();
    db.commit().await.unwrap();
    let response = app.read_tenant(&tenant.id).await;
    let error = response.assert_error(500, "INTERNAL");
    assert_eq!(error["message"], "Internal server error");
    assert!(!response.text.contains("unreadable"), "{}", response.text);
}

#[tokio::test]
async fn exactly_one_credential_per_request() {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    let pair = app.token(&tenant.key).await;
    for response in [
        app.get("/api/v1/tenant")
            .master()
            .key(&tenant.key)
            .send()
            .await,
        app.get("/api/v1/tenant")
            .key(&tenant.key)
            .bearer(&pair.access)
            .send()
            .await,
        app.get("/api/v1/tenants")
            .master()
            .bearer(&pair.access)
            .send()
            .await,
    ] {
        response.assert_error(400, "INVALID_REQUEST");
        assert!(response.message().contains("exactly one credential"));
    }
}

#[tokio::test]
async fn missing_or_invalid_credentials_are_401() {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    let path = format!("/api/v1/tenants/{}", tenant.id);
    app.get(&path)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    let response = app.get(&path).header("X-Master-Key", "wrong").send().await;
    response.assert_error(401, "UNAUTHORIZED");
    for bad in [
        "sk_live_00000000000000000000000000000000",
        "not-even-a-key",
        "",
    ] {
        let response = app.get(&path).key(bad).send().await;
        response.assert_error(401, "UNAUTHORIZED");
        assert_eq!(response.message(), "Invalid API key");
    }
    for header in ["Basic dXNlcjpwYXNz", "Bearer ", "token"] {
        let response = app.get(&path).header("Authorization", header).send().await;
        response.assert_error(401, "UNAUTHORIZED");
    }
    // The master key is compared whole: a prefix or a longer string is no good.
    let prefix = &MASTER_KEY[..MASTER_KEY.len() - 1];
    let response = app.get(&path).header("X-Master-Key", prefix).send().await;
    response.assert_error(401, "UNAUTHORIZED");
    let longer = format!("{MASTER_KEY}x");
    let response = app.get(&path).header("X-Master-Key", &longer).send().await;
    response.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn unknown_body_fields_are_422_naming_the_field() {
    let app = test_app().await;
    let response = app
        .post("/api/v1/tenants")
        .master()
        .json(json!({"name": "Acme", "emial": "ops@acme.edu"}))
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(response.fields(), ["emial"]);
    let response = app
        .post("/api/v1/tenants")
        .master()
        .json(json!(["not", "an", "object"]))
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(response.fields(), ["body"]);
    let response = app
        .post("/api/v1/tenants")
        .master()
        .json(json!({"name": 42}))
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(response.fields(), ["name"]);
}

#[tokio::test]
async fn lists_paginate_with_an_opaque_cursor() {
    let app = test_app().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(app.tenant(&format!("Tenant {n}")).await.id);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tenants?limit=2&cursor={c}"),
            None => "/api/v1/tenants?limit=2".to_owned(),
        };
        let response = app.get(&path).master().send().await;
        response.assert_status(200);
        pages += 1;
        for t in response.body["data"].as_array().unwrap() {
            seen.push(t["id"].as_str().unwrap().to_owned());
        }
        match response.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => {
                assert!(response.body["next_cursor"].is_null());
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "every tenant once, oldest first");

    let all = app.get("/api/v1/tenants").master().send().await;
    assert_eq!(all.body["data"].as_array().unwrap().len(), 5, "default 50");
    assert!(all.body["next_cursor"].is_null());
    let exact = app.get("/api/v1/tenants?limit=5").master().send().await;
    assert!(
        exact.body["next_cursor"].is_null(),
        "a full last page says so"
    );
}

#[tokio::test]
async fn bad_query_strings_are_400_naming_the_parameter() {
    let app = test_app().await;
    for (query, field) in [
        ("limit=0", Some("limit")),
        ("limit=201", Some("limit")),
        ("cursor=bm90LWEtY3Vyc29y", Some("cursor")),
        ("cursor=%%%", None),
        ("limit=ten", None),
        ("limit=-1", None),
        ("status=deleted", None),
        ("colour=blue", None),
    ] {
        let response = app
            .get(&format!("/api/v1/tenants?{query}"))
            .master()
            .send()
            .await;
        response.assert_error(400, "INVALID_REQUEST");
        if let Some(field) = field {
            assert_eq!(response.fields(), [field], "{query}");
        }
    }
    app.get("/api/v1/tenants?limit=200&cursor=")
        .master()
        .send()
        .await
        .assert_status(200);
}

/// Regression (found by schemathesis): an unsupported method answered 400 or 401 when
/// the request also carried several or bad credentials; the method is judged first.
#[tokio::test]
async fn a_wrong_method_is_405_whatever_credentials_come_with_it() {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    for method in [Method::TRACE, Method::PUT, Method::OPTIONS] {
        let path = format!("/api/v1/tenants/{}/config", tenant.id);
        app.call(method.clone(), &path)
            .master()
            .key(&tenant.key)
            .send()
            .await
            .assert_error(405, "METHOD_NOT_ALLOWED");
        app.call(method.clone(), &path)
            .key("sk_live_bad")
            .send()
            .await
            .assert_error(405, "METHOD_NOT_ALLOWED");
    }
    // HEAD is GET without a body, credentials checked as for GET.
    let response = app
        .call(Method::HEAD, "/api/v1/tenant")
        .key(&tenant.key)
        .send()
        .await;
    response.assert_status(200);
    let response = app.call(Method::HEAD, "/api/v1/tenant").send().await;
    response.assert_status(401);
}

/// Regression (found by schemathesis): JSON Schema counts `30.0` as an integer, so the
/// document allowed whole-valued floats that the server refused.
#[tokio::test]
async fn whole_valued_floats_are_integers() {
    let app = test_app().await;
    let tenant = app
        .create_tenant(
            json!({"name": "Acme", "max_recording_duration_minutes": 142.0,
            "config": {"empty_room_timeout_minutes": 45.0}}),
        )
        .await;
    assert_eq!(tenant.body["max_recording_duration_minutes"], 142);
    assert_eq!(tenant.body["config"]["empty_room_timeout_minutes"], 45);
    for (body, field) in [
        (
            json!({"max_participants_per_room": 2112.5}),
            "max_participants_per_room",
        ),
        (
            json!({"rate_limit_per_minute": 1e300}),
            "rate_limit_per_minute",
        ),
    ] {
        let response = app
            .patch(&format!("/api/v1/tenants/{}", tenant.id))
            .master()
            .json(body)
            .send()
            .await;
        response.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(response.fields(), [field]);
    }
}
