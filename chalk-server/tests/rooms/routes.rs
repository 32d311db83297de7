//! Every room and participant endpoint through the router: status, error code, body, and
//! what the store holds afterwards.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

/// The authentication guide, request for request: the backend adds a participant with its
/// API key (creating the room through allow_early_join), hands the top-level tokens to the
/// browser, the browser uses its token, and the backend refreshes it with a bodiless POST.
#[tokio::test]
async fn the_authentication_guide_flow_works_verbatim() {
    let app = app().await;
    let (_, key) = app.tenant(json!({}), json!({})).await;
    let api_key = Cred::Key(key);

    // Server-side: create a room like the guide's first example.
    let created = app
        .post("/api/v1/rooms", &api_key, json!({"name": "CS101 Lecture"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["data"]["name"], "CS101 Lecture");

    // `app.post('/api/join-room')`: roomId comes from the app's own URLs.
    let response = app
        .post(
            "/api/v1/rooms/cs101/participants",
            &api_key,
            json!({"display_name": "Alice", "role": "participant"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
    let data = &response.body; // `const data = await response.json()`
    let access_token = s(&data["access_token"]);
    let refresh_token = s(&data["refresh_token"]);
    let participant_id = s(&data["participant"]["id"]);
    let room_id = s(&data["room"]["id"]);
    assert_eq!(room_id, "room_cs101");
    assert!(participant_id.starts_with("part_"));
    assert!(refresh_token.len() > 20);
    // The contract's envelope holds the same.
    assert_eq!(data["data"]["access_token"], data["access_token"]);
    assert_eq!(data["data"]["room"]["participant_count"], 1);

    // The browser uses its token.
    let browser = Cred::Bearer(access_token.clone());
    let room = app.get(&format!("/api/v1/rooms/{room_id}"), &browser).await;
    assert_eq!(room.status, StatusCode::OK, "{}", room.body);
    assert_eq!(room.body["data"]["status"], "active");

    // Token refresh: POST with only X-API-Key, no body, no content type.
    let refreshed = app
        .send(
            "POST",
            &format!("/api/v1/rooms/{room_id}/participants/{participant_id}/token"),
            &api_key,
            &[],
            None,
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let new_access = s(&refreshed.body["access_token"]);
    assert!(refreshed.body["refresh_token"].is_string());
    assert_eq!(
        refreshed.body["data"]["access_token"],
        refreshed.body["access_token"]
    );

    let fresh = app
        .get(
            &format!("/api/v1/rooms/{room_id}"),
            &Cred::Bearer(new_access),
        )
        .await;
    assert_eq!(fresh.status, StatusCode::OK);
    let stale = app.get(&format!("/api/v1/rooms/{room_id}"), &browser).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED);
    assert_eq!(stale.code(), "UNAUTHORIZED");
}

#[tokio::test]
async fn rooms_create_get_list_end_and_their_errors() {
    let app = app().await;
    let (tenant_id, key) = app.tenant(json!({}), json!({})).await;
    let key = Cred::Key(key);
    let (_, other_key) = app.tenant(json!({}), json!({})).await;
    let other = Cred::Key(other_key);

    let a = app
        .post(
            "/api/v1/rooms",
            &key,
            json!({"id": "math-1", "name": " Algebra ", "max_participants": 5}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["data"]["id"], "room_math-1");
    assert_eq!(a.body["data"]["name"], "Algebra");
    assert_eq!(a.body["data"]["participant_count"], 0);
    let b = app.post("/api/v1/rooms", &key, json!({})).await;
    assert_eq!(b.status, StatusCode::CREATED);
    assert!(s(&b.body["data"]["id"]).starts_with("room_"));
    let later = app
        .post(
            "/api/v1/rooms",
            &key,
            json!({"id": "room_later", "scheduled_start": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(later.body["data"]["status"], "scheduled");

    let dup = app
        .post("/api/v1/rooms", &key, json!({"id": "math-1"}))
        .await;
    assert_eq!((dup.status, dup.code()), (StatusCode::CONFLICT, "CONFLICT"));
    let bad = app
        .post(
            "/api/v1/rooms",
            &key,
            json!({"id": "Bad Id!", "name": "", "max_participants": 0}),
        )
        .await;
    assert_eq!(
        (bad.status, bad.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")
    );
    let fields: Vec<_> = bad.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| s(&d["field"]))
        .collect();
    assert_eq!(fields, ["id", "name", "max_participants"]);
    let typo = app.post("/api/v1/rooms", &key, json!({"nmae": "x"})).await;
    assert_eq!(typo.code(), "VALIDATION_ERROR");
    assert_eq!(typo.body["error"]["details"][0]["field"], "nmae");

    // Same id through the path, with or without the prefix; other tenants see 404.
    assert_eq!(
        app.get("/api/v1/rooms/math-1", &key).await.body["data"]["id"],
        "room_math-1"
    );
    let foreign = app.get("/api/v1/rooms/room_math-1", &other).await;
    assert_eq!(
        (foreign.status, foreign.code()),
        (StatusCode::NOT_FOUND, "NOT_FOUND")
    );
    let foreign_end = app
        .send("POST", "/api/v1/rooms/room_math-1/end", &other, &[], None)
        .await;
    assert_eq!(foreign_end.status, StatusCode::NOT_FOUND);

    // Pagination and status filter.
    let page = app.get("/api/v1/rooms?limit=2", &key).await;
    assert_eq!(page.body["data"].as_array().unwrap().len(), 2);
    let cursor = s(&page.body["next_cursor"]);
    let rest = app
        .get(&format!("/api/v1/rooms?limit=2&cursor={cursor}"), &key)
        .await;
    assert_eq!(rest.body["data"].as_array().unwrap().len(), 1);
    assert!(rest.body["next_cursor"].is_null());
    let scheduled = app.get("/api/v1/rooms?status=scheduled", &key).await;
    assert_eq!(scheduled.body["data"][0]["id"], "room_later");
    assert_eq!(scheduled.body["data"].as_array().unwrap().len(), 1);
    let bad_status = app.get("/api/v1/rooms?status=open", &key).await;
    assert_eq!(bad_status.code(), "INVALID_REQUEST");
    assert_eq!(
        app.get("/api/v1/rooms", &other).await.body["data"],
        json!([])
    );

    let ended = app
        .send("POST", "/api/v1/rooms/math-1/end", &key, &[], None)
        .await;
    assert_eq!(ended.status, StatusCode::OK);
    assert_eq!(ended.body["data"]["status"], "ended");
    assert!(ended.body["data"]["ended_at"].is_string());
    let again = app
        .send("POST", "/api/v1/rooms/math-1/end", &key, &[], None)
        .await;
    assert_eq!(
        again.body["data"]["ended_at"],
        ended.body["data"]["ended_at"]
    );
    let ended_list = app.get("/api/v1/rooms?status=ended", &key).await;
    assert_eq!(ended_list.body["data"].as_array().unwrap().len(), 1);
    let gone = app
        .send("POST", "/api/v1/rooms/nope-1/end", &key, &[], None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    // Who may: the master key does not manage rooms; a rooms:read key cannot write.
    let master = app.post("/api/v1/rooms", &Cred::Master, json!({})).await;
    assert_eq!(
        (master.status, master.code()),
        (StatusCode::FORBIDDEN, "FORBIDDEN")
    );
    let anonymous = app.get("/api/v1/rooms", &Cred::None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let reader = app
        .post(
            &format!("/api/v1/tenants/{tenant_id}/api-keys"),
            &key,
            json!({"name": "reader", "scopes": ["rooms:read"]}),
        )
        .await;
    let reader = Cred::Key(s(&reader.body["data"]["api_key"]));
    assert_eq!(
        app.get("/api/v1/rooms", &reader).await.status,
        StatusCode::OK
    );
    let denied = app.post("/api/v1/rooms", &reader, json!({})).await;
    assert_eq!(
        (denied.status, denied.code()),
        (StatusCode::FORBIDDEN, "FORBIDDEN")
    );
    let denied = app
        .post(
            "/api/v1/rooms/x-1/participants",
            &reader,
            json!({"display_name": "A"}),
        )
        .await;
    assert_eq!(denied.code(), "FORBIDDEN");

    // Idempotent create.
    let first = app
        .send(
            "POST",
            "/api/v1/rooms",
            &key,
            &[("idempotency-key", "create-7")],
            Some(json!({"name": "R"})),
        )
        .await;
    let replay = app
        .send(
            "POST",
            "/api/v1/rooms",
            &key,
            &[("idempotency-key", "create-7")],
            Some(json!({"name": "R"})),
        )
        .await;
    assert_eq!(first.body, replay.body);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    let mismatch = app
        .send(
            "POST",
            "/api/v1/rooms",
            &key,
            &[("idempotency-key", "create-7")],
            Some(json!({"name": "S"})),
        )
        .await;
    assert_eq!(mismatch.code(), "CONFLICT");

    // Usage counts real rooms.
    let tenant = app
        .get(&format!("/api/v1/tenants/{tenant_id}"), &Cred::Master)
        .await;
    assert_eq!(
        tenant.body["data"]["usage"],
        json!({"active_rooms": 3, "total_rooms": 4, "active_participants": 0, "api_keys": 2})
    );
}

#[tokio::test]
async fn participant_tokens_are_scoped_to_their_room_and_role_and_die_on_removal_and_end() {
    let app = app().await;
    let (tenant_id, key) = app.tenant(json!({}), json!({})).await;
    let key = Cred::Key(key);
    let host = app
        .join(
            &key,
            "lab-1",
            json!({"display_name": "Prof", "role": "host"}),
        )
        .await;
    let student = app.join(&key, "lab-1", json!({"display_name": "Bo"})).await;
    assert_eq!(student["participant"]["role"], "participant");
    let other_room = app.join(&key, "lab-2", json!({"display_name": "Cy"})).await;
    let host_t = Cred::Bearer(s(&host["access_token"]));
    let student_t = Cred::Bearer(s(&student["access_token"]));
    let other_t = Cred::Bearer(s(&other_room["access_token"]));
    let student_id = s(&student["participant"]["id"]);

    // Reads only its own room; never a tenant credential.
    assert_eq!(
        app.get("/api/v1/rooms/lab-1", &student_t).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/rooms/lab-1", &other_t).await.status,
        StatusCode::NOT_FOUND
    );
    for path in [
        "/api/v1/rooms".to_owned(),
        "/api/v1/tenant".to_owned(),
        format!("/api/v1/tenants/{tenant_id}"),
    ] {
        let reply = app.get(&path, &student_t).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::FORBIDDEN, "FORBIDDEN"),
            "{path}"
        );
    }
    let join = app
        .post(
            "/api/v1/rooms/lab-1/participants",
            &host_t,
            json!({"display_name": "X"}),
        )
        .await;
    assert_eq!(join.code(), "FORBIDDEN");
    // A refresh token is no credential; a tenant token is no participant token.
    let refresh_as_bearer = app
        .get(
            "/api/v1/rooms/lab-1",
            &Cred::Bearer(s(&student["refresh_token"])),
        )
        .await;
    assert_eq!(refresh_as_bearer.status, StatusCode::UNAUTHORIZED);
    let garbage = app
        .get("/api/v1/rooms/lab-1", &Cred::Bearer("not.a.jwt".into()))
        .await;
    assert_eq!(garbage.code(), "UNAUTHORIZED");

    // Only a host ends the room or removes people.
    let kick = format!("/api/v1/rooms/lab-1/participants/{student_id}");
    let denied = app.send("DELETE", &kick, &student_t, &[], None).await;
    assert_eq!(
        (denied.status, denied.code()),
        (StatusCode::FORBIDDEN, "FORBIDDEN")
    );
    let denied = app
        .send("POST", "/api/v1/rooms/lab-1/end", &student_t, &[], None)
        .await;
    assert_eq!(denied.code(), "FORBIDDEN");
    let kicked = app.send("DELETE", &kick, &host_t, &[], None).await;
    assert_eq!(kicked.status, StatusCode::OK, "{}", kicked.body);
    assert_eq!(
        kicked.body["data"],
        json!({"id": student_id, "deleted": true})
    );
    let dead = app.get("/api/v1/rooms/lab-1", &student_t).await;
    assert_eq!(
        (dead.status, dead.code()),
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
    );
    let twice = app.send("DELETE", &kick, &key, &[], None).await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/api/v1/rooms/lab-1", &key).await.body["data"]["participant_count"],
        1
    );

    // The host ends the room: every token of it dies; other rooms are untouched.
    let ended = app
        .send("POST", "/api/v1/rooms/lab-1/end", &host_t, &[], None)
        .await;
    assert_eq!(ended.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/rooms/lab-1", &host_t).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/rooms/lab-2", &other_t).await.status,
        StatusCode::OK
    );
    let late = app
        .post(
            "/api/v1/rooms/lab-1/participants",
            &key,
            json!({"display_name": "Late"}),
        )
        .await;
    assert_eq!(
        (late.status, late.code()),
        (StatusCode::CONFLICT, "CONFLICT")
    );
    let pid = s(&host["participant"]["id"]);
    let refresh_ended = app
        .send(
            "POST",
            &format!("/api/v1/rooms/lab-1/participants/{pid}/token"),
            &key,
            &[],
            None,
        )
        .await;
    assert_eq!(refresh_ended.status, StatusCode::NOT_FOUND);

    // A suspended tenant's participant tokens get 403; a deleted tenant's, 401.
    let suspend = app
        .send(
            "POST",
            &format!("/api/v1/tenants/{tenant_id}/suspend"),
            &Cred::Master,
            &[],
            None,
        )
        .await;
    assert_eq!(suspend.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/rooms/lab-2", &other_t).await.code(),
        "TENANT_SUSPENDED"
    );
    let delete = app
        .send(
            "DELETE",
            &format!("/api/v1/tenants/{tenant_id}"),
            &Cred::Master,
            &[],
            None,
        )
        .await;
    assert_eq!(delete.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/rooms/lab-2", &other_t).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_browser_renews_with_its_single_use_refresh_token() {
    let app = app().await;
    let (_, key) = app.tenant(json!({}), json!({})).await;
    let (_, other_key) = app.tenant(json!({}), json!({})).await;
    let key = Cred::Key(key);
    let joined = app
        .join(&key, "room_r-1", json!({"display_name": "A"}))
        .await;
    let pid = s(&joined["participant"]["id"]);
    let path = format!("/api/v1/rooms/room_r-1/participants/{pid}/token");
    let refresh = s(&joined["refresh_token"]);

    let renewed = app
        .post(&path, &Cred::None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    assert_eq!(renewed.body["data"]["participant_id"], pid);
    let reused = app
        .post(&path, &Cred::None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(
        (reused.status, reused.code()),
        (StatusCode::UNAUTHORIZED, "INVALID_REFRESH_TOKEN")
    );
    // The old access token died with the renewal; the new one works.
    assert_eq!(
        app.get(
            "/api/v1/rooms/r-1",
            &Cred::Bearer(s(&joined["access_token"]))
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get(
            "/api/v1/rooms/r-1",
            &Cred::Bearer(s(&renewed.body["access_token"]))
        )
        .await
        .status,
        StatusCode::OK
    );

    let next = s(&renewed.body["refresh_token"]);
    // Not for another participant's path, not an access token, not another tenant's.
    let wrong = app
        .post(
            "/api/v1/rooms/room_r-1/participants/part_x/token",
            &Cred::None,
            json!({"refresh_token": next}),
        )
        .await;
    assert_eq!(wrong.code(), "INVALID_REFRESH_TOKEN");
    let access_as_refresh = app
        .post(
            &path,
            &Cred::None,
            json!({"refresh_token": s(&renewed.body["access_token"])}),
        )
        .await;
    assert_eq!(access_as_refresh.code(), "INVALID_REFRESH_TOKEN");
    let foreign = app
        .post(&path, &Cred::Key(other_key), json!({"refresh_token": next}))
        .await;
    assert_eq!(foreign.code(), "INVALID_REFRESH_TOKEN");
    // Without either, nothing.
    let bare = app.send("POST", &path, &Cred::None, &[], None).await;
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED);
    let typo = app.post(&path, &Cred::None, json!({"refresh": next})).await;
    assert_eq!(typo.code(), "VALIDATION_ERROR");

    // Concurrent presentations of one refresh token: exactly one wins.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let router = app.router.clone();
            let path = path.clone();
            let next = next.clone();
            tokio::spawn(async move {
                use tower::ServiceExt;
                let request = axum::http::Request::post(path)
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(
                        json!({"refresh_token": next}).to_string(),
                    ))
                    .unwrap();
                router.oneshot(request).await.unwrap().status()
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        if task.await.unwrap() == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn allow_early_join_governs_unknown_and_scheduled_rooms() {
    let app = app().await;
    let (tenant_id, key) = app
        .tenant(json!({}), json!({"allow_early_join": false}))
        .await;
    let key = Cred::Key(key);
    let unknown = app
        .post(
            "/api/v1/rooms/new-room/participants",
            &key,
            json!({"display_name": "A"}),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (StatusCode::NOT_FOUND, "NOT_FOUND")
    );
    assert_eq!(app.get("/api/v1/rooms", &key).await.body["data"], json!([]));
    app.post(
        "/api/v1/rooms",
        &key,
        json!({"id": "future", "scheduled_start": "2099-01-01T00:00:00Z"}),
    )
    .await;
    let early = app
        .post(
            "/api/v1/rooms/future/participants",
            &key,
            json!({"display_name": "A"}),
        )
        .await;
    assert_eq!(
        (early.status, early.code()),
        (StatusCode::CONFLICT, "CONFLICT")
    );
    assert!(
        early.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allow_early_join")
    );
    app.post(
        "/api/v1/rooms",
        &key,
        json!({"id": "past", "scheduled_start": "2020-01-01T00:00:00Z"}),
    )
    .await;
    app.join(&key, "past", json!({"display_name": "A"})).await;

    app.patch_config(&tenant_id, json!({"allow_early_join": true}))
        .await;
    let joined = app.join(&key, "future", json!({"display_name": "A"})).await;
    assert_eq!(joined["room"]["status"], "active");
    let created = app
        .join(&key, "new-room", json!({"display_name": "A"}))
        .await;
    assert_eq!(created["room"]["id"], "room_new-room");
    // An id that could never be created is simply not found.
    let invalid = app
        .post(
            "/api/v1/rooms/NOT%20VALID/participants",
            &key,
            json!({"display_name": "A"}),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::NOT_FOUND);
    let bad = app
        .post(
            "/api/v1/rooms/x-1/participants",
            &key,
            json!({"display_name": " ", "role": "admin"}),
        )
        .await;
    assert_eq!(bad.code(), "VALIDATION_ERROR");
}

#[tokio::test]
async fn duplicate_participant_policy_rejects_or_disconnects() {
    let app = app().await;
    let (tenant_id, key) = app.tenant(json!({}), json!({})).await;
    let key = Cred::Key(key);
    let first = app
        .join(
            &key,
            "dup-1",
            json!({"display_name": "A", "user_id": "u-1"}),
        )
        .await;
    let again = app
        .post(
            "/api/v1/rooms/dup-1/participants",
            &key,
            json!({"display_name": "A", "user_id": "u-1"}),
        )
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "CONFLICT")
    );
    // Another user, and a user without an id, are not duplicates.
    app.join(
        &key,
        "dup-1",
        json!({"display_name": "B", "user_id": "u-2"}),
    )
    .await;
    app.join(&key, "dup-1", json!({"display_name": "C"})).await;

    app.patch_config(
        &tenant_id,
        json!({"duplicate_participant_policy": "disconnect_existing"}),
    )
    .await;
    let second = app
        .join(
            &key,
            "dup-1",
            json!({"display_name": "A2", "user_id": "u-1"}),
        )
        .await;
    assert_ne!(second["participant"]["id"], first["participant"]["id"]);
    assert_eq!(second["room"]["participant_count"], 3);
    let old = app
        .get(
            "/api/v1/rooms/dup-1",
            &Cred::Bearer(s(&first["access_token"])),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = app
        .get(
            "/api/v1/rooms/dup-1",
            &Cred::Bearer(s(&second["access_token"])),
        )
        .await;
    assert_eq!(new.status, StatusCode::OK);
}

#[tokio::test]
async fn room_and_tenant_participant_caps_apply_the_smaller() {
    let app = app().await;
    let (_, key) = app
        .tenant(json!({"max_participants_per_room": 3}), json!({}))
        .await;
    let key = Cred::Key(key);
    app.post(
        "/api/v1/rooms",
        &key,
        json!({"id": "small", "max_participants": 2}),
    )
    .await;
    app.post(
        "/api/v1/rooms",
        &key,
        json!({"id": "big", "max_participants": 50}),
    )
    .await;
    for _ in 0..2 {
        app.join(&key, "small", json!({"display_name": "A"})).await;
    }
    let full = app
        .post(
            "/api/v1/rooms/small/participants",
            &key,
            json!({"display_name": "A"}),
        )
        .await;
    assert_eq!(
        (full.status, full.code()),
        (StatusCode::CONFLICT, "QUOTA_EXCEEDED")
    );
    for _ in 0..3 {
        app.join(&key, "big", json!({"display_name": "A"})).await;
    }
    let full = app
        .post(
            "/api/v1/rooms/big/participants",
            &key,
            json!({"display_name": "A"}),
        )
        .await;
    assert_eq!(full.code(), "QUOTA_EXCEEDED");
    assert_eq!(
        app.get("/api/v1/rooms/big", &key).await.body["data"]["participant_count"],
        3
    );
}

#[tokio::test]
async fn a_hundred_simultaneous_joins_to_a_room_of_25_admit_exactly_25() {
    let app = app().await;
    let (tenant_id, key) = app
        .tenant(json!({"max_participants_per_room": 25}), json!({}))
        .await;
    app.post(
        "/api/v1/rooms",
        &Cred::Key(key.clone()),
        json!({"id": "crowd"}),
    )
    .await;
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let router = app.router.clone();
            let key = key.clone();
            tokio::spawn(async move {
                use http_body_util::BodyExt;
                use tower::ServiceExt;
                let request = axum::http::Request::post("/api/v1/rooms/crowd/participants")
                    .header("x-api-key", key)
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(
                        json!({"display_name": format!("P{i}")}).to_string(),
                    ))
                    .unwrap();
                let response = router.oneshot(request).await.unwrap();
                let status = response.status();
                let body: Value = serde_json::from_slice(
                    &response.into_body().collect().await.unwrap().to_bytes(),
                )
                .unwrap();
                (
                    status,
                    body["error"]["code"].as_str().unwrap_or("").to_owned(),
                )
            })
        })
        .collect();
    let mut created = 0;
    let mut quota = 0;
    for task in tasks {
        match task.await.unwrap() {
            (StatusCode::CREATED, _) => created += 1,
            (StatusCode::CONFLICT, code) if code == "QUOTA_EXCEEDED" => quota += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created, quota), (25, 75));
    let key = Cred::Key(key);
    assert_eq!(
        app.get("/api/v1/rooms/crowd", &key).await.body["data"]["participant_count"],
        25
    );
    let usage = app
        .get(&format!("/api/v1/tenants/{tenant_id}"), &Cred::Master)
        .await;
    assert_eq!(usage.body["data"]["usage"]["active_participants"], 25);
}

#[tokio::test]
async fn room_creation_at_the_max_concurrent_rooms_edge_admits_exactly_the_limit() {
    let app = app().await;
    let (tenant_id, key) = app
        .tenant(json!({"max_concurrent_rooms": 7}), json!({}))
        .await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let router = app.router.clone();
            let key = key.clone();
            tokio::spawn(async move {
                use tower::ServiceExt;
                // Half create directly, half through a join to an unknown room.
                let (path, body) = if i % 2 == 0 {
                    ("/api/v1/rooms".to_owned(), json!({}))
                } else {
                    (
                        format!("/api/v1/rooms/auto-{i}/participants"),
                        json!({"display_name": "A"}),
                    )
                };
                let request = axum::http::Request::post(path)
                    .header("x-api-key", key)
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(body.to_string()))
                    .unwrap();
                router.oneshot(request).await.unwrap().status()
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 7);
    let usage = app
        .get(&format!("/api/v1/tenants/{tenant_id}"), &Cred::Master)
        .await;
    assert_eq!(usage.body["data"]["usage"]["active_rooms"], 7);
    let over = app
        .post("/api/v1/rooms", &Cred::Key(key.clone()), json!({}))
        .await;
    assert_eq!(
        (over.status, over.code()),
        (StatusCode::CONFLICT, "QUOTA_EXCEEDED")
    );
    // Ending one frees a place.
    let first = app
        .get("/api/v1/rooms?limit=1", &Cred::Key(key.clone()))
        .await;
    let id = s(&first.body["data"][0]["id"]);
    app.send(
        "POST",
        &format!("/api/v1/rooms/{id}/end"),
        &Cred::Key(key.clone()),
        &[],
        None,
    )
    .await;
    assert_eq!(
        app.post("/api/v1/rooms", &Cred::Key(key), json!({}))
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn allowed_origins_refuse_other_origins_and_cors_answers() {
    let app = app().await;
    let (_, key) = app
        .tenant(
            json!({}),
            json!({"allowed_origins": ["https://app.acme.edu", "http://localhost:*"]}),
        )
        .await;
    let key = Cred::Key(key);
    let joined = app.join(&key, "web-1", json!({"display_name": "A"})).await;
    let browser = Cred::Bearer(s(&joined["access_token"]));

    let evil = app
        .send(
            "GET",
            "/api/v1/rooms/web-1",
            &browser,
            &[("origin", "https://evil.example")],
            None,
        )
        .await;
    assert_eq!(
        (evil.status, evil.code()),
        (StatusCode::FORBIDDEN, "FORBIDDEN")
    );
    assert!(
        evil.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("https://evil.example")
    );
    assert!(evil.headers.get("access-control-allow-origin").is_none());
    // Tenant credentials from a browser are held to the same list.
    let evil_key = app
        .send(
            "GET",
            "/api/v1/rooms",
            &key,
            &[("origin", "https://evil.example")],
            None,
        )
        .await;
    assert_eq!(evil_key.code(), "FORBIDDEN");

    for origin in ["https://app.acme.edu", "http://localhost:5173"] {
        let ok = app
            .send(
                "GET",
                "/api/v1/rooms/web-1",
                &browser,
                &[("origin", origin)],
                None,
            )
            .await;
        assert_eq!(ok.status, StatusCode::OK, "{origin}");
        assert_eq!(ok.headers["access-control-allow-origin"], origin);
    }
    // Servers send no Origin: not subject to the list.
    assert_eq!(
        app.get("/api/v1/rooms/web-1", &browser).await.status,
        StatusCode::OK
    );

    let preflight = app
        .send(
            "OPTIONS",
            "/api/v1/rooms/web-1",
            &Cred::None,
            &[
                ("origin", "https://app.acme.edu"),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "authorization"),
            ],
            None,
        )
        .await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.headers["access-control-allow-origin"],
        "https://app.acme.edu"
    );
    let allowed = preflight.headers["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(allowed.contains("authorization") && !allowed.contains("x-api-key"));
    // A browser renewing with its refresh token (no credential header) is held to it too.
    let pid = s(&joined["participant"]["id"]);
    let renew_path = format!("/api/v1/rooms/web-1/participants/{pid}/token");
    let body = Some(json!({"refresh_token": s(&joined["refresh_token"])}));
    let refused = app
        .send(
            "POST",
            &renew_path,
            &Cred::None,
            &[("origin", "https://evil.example")],
            body.clone(),
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "FORBIDDEN")
    );
    assert!(refused.headers.get("access-control-allow-origin").is_none());
    let renewed = app
        .send(
            "POST",
            &renew_path,
            &Cred::None,
            &[("origin", "https://app.acme.edu")],
            body,
        )
        .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    assert_eq!(
        renewed.headers["access-control-allow-origin"],
        "https://app.acme.edu"
    );

    let no_origin = app
        .send(
            "OPTIONS",
            "/api/v1/rooms",
            &Cred::None,
            &[("access-control-request-method", "GET")],
            None,
        )
        .await;
    assert_eq!(no_origin.code(), "FORBIDDEN");
}

#[tokio::test]
async fn empty_rooms_end_after_their_tenants_timeout() {
    let app = app().await;
    let (tenant_id, key) = app
        .tenant(json!({}), json!({"empty_room_timeout_minutes": 1}))
        .await;
    let key = Cred::Key(key);
    let never_joined = app.post("/api/v1/rooms", &key, json!({"id": "idle"})).await;
    let created_at = chrono::DateTime::parse_from_rfc3339(
        never_joined.body["data"]["created_at"].as_str().unwrap(),
    )
    .unwrap()
    .timestamp();
    let joined = app.join(&key, "busy", json!({"display_name": "A"})).await;
    let later = app
        .post(
            "/api/v1/rooms",
            &key,
            json!({"id": "later", "scheduled_start": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(later.status, StatusCode::CREATED);

    let sweep = chalk_server::workers::room_sweeper::sweep;
    assert_eq!(sweep(&app.state, created_at + 59).await.unwrap(), 0);
    assert_eq!(sweep(&app.state, created_at + 61).await.unwrap(), 1);
    assert_eq!(
        app.get("/api/v1/rooms/idle", &key).await.body["data"]["status"],
        "ended"
    );
    // An occupied room does not end; once left empty, its clock starts at the leave.
    assert_eq!(
        app.get("/api/v1/rooms/busy", &key).await.body["data"]["status"],
        "active"
    );
    let pid = s(&joined["participant"]["id"]);
    app.send(
        "DELETE",
        &format!("/api/v1/rooms/busy/participants/{pid}"),
        &key,
        &[],
        None,
    )
    .await;
    let left_at = chalk_server::clock::now();
    assert_eq!(sweep(&app.state, left_at + 30).await.unwrap(), 0);
    assert_eq!(sweep(&app.state, left_at + 61).await.unwrap(), 1);
    assert_eq!(
        app.get("/api/v1/rooms/busy", &key).await.body["data"]["status"],
        "ended"
    );
    // A scheduled room counts from its start.
    assert_eq!(
        app.get("/api/v1/rooms/later", &key).await.body["data"]["status"],
        "scheduled"
    );

    // Each tenant's own timeout applies.
    app.patch_config(&tenant_id, json!({"empty_room_timeout_minutes": 30}))
        .await;
    app.post("/api/v1/rooms", &key, json!({"id": "slow"})).await;
    let at = chalk_server::clock::now();
    assert_eq!(sweep(&app.state, at + 29 * 60).await.unwrap(), 0);
    assert_eq!(sweep(&app.state, at + 31 * 60).await.unwrap(), 1);
    let usage = app
        .get(&format!("/api/v1/tenants/{tenant_id}"), &Cred::Master)
        .await;
    assert_eq!(usage.body["data"]["usage"]["active_rooms"], 1);
}

#[tokio::test]
async fn the_background_sweeper_ends_a_room_empty_past_its_timeout() {
    let app = app().await;
    let (tenant_id, key) = app
        .tenant(json!({}), json!({"empty_room_timeout_minutes": 1}))
        .await;
    // A room created (empty) two minutes ago, as if the server had been running.
    let mut db = app.state.store.begin().await.unwrap();
    let outcome = chalk_server::store::rooms::create(
        &mut db,
        &chalk_server::store::NewRoom {
            id: "room_stale".into(),
            tenant_id,
            name: None,
            scheduled_start: None,
            max_participants: None,
            created_at: chalk_server::clock::now() - 120,
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        outcome,
        chalk_server::store::CreateRoomOutcome::Created(_)
    ));
    db.commit().await.unwrap();
    let task = chalk_server::workers::room_sweeper::spawn(
        app.state.core.clone(),
        std::time::Duration::from_millis(20),
    );
    let key = Cred::Key(key);
    let mut status = Value::Null;
    for _ in 0..250 {
        status = app.get("/api/v1/rooms/stale", &key).await.body["data"]["status"].clone();
        if status == "ended" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    task.abort();
    assert_eq!(status, "ended");
}

#[tokio::test]
async fn the_openapi_document_covers_every_room_operation() {
    let app = app().await;
    let doc = app.get("/api/v1/openapi.json", &Cred::None).await.body;
    for (path, method) in [
        ("/api/v1/rooms", "post"),
        ("/api/v1/rooms", "get"),
        ("/api/v1/rooms/{id}", "get"),
        ("/api/v1/rooms/{id}/end", "post"),
        ("/api/v1/rooms/{id}/participants", "post"),
        ("/api/v1/rooms/{id}/participants/{pid}/token", "post"),
        ("/api/v1/rooms/{id}/participants/{pid}", "delete"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing");
        assert!(
            op["responses"]["401"].is_object(),
            "{method} {path} lacks its errors"
        );
    }
    for schema in [
        "Room",
        "JoinResponse",
        "ParticipantTokensResponse",
        "AddParticipantRequest",
        "CreateRoomRequest",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

#[tokio::test]
async fn an_expired_participant_token_says_so_and_a_forged_one_is_refused() {
    use chalk_server::domain::signing::{
        ISSUER, PARTICIPANT_ACCESS, ParticipantClaims, TokenSigner,
    };
    let app = app().await;
    let (tenant_id, key) = app.tenant(json!({}), json!({})).await;
    let joined = app
        .join(
            &Cred::Key(key),
            "exp-1",
            json!({"display_name": "A", "role": "participant"}),
        )
        .await;
    let at = chalk_server::clock::now();
    let claims = |exp: i64, role: &str| ParticipantClaims {
        iss: ISSUER.into(),
        sub: s(&joined["participant"]["id"]),
        tid: tenant_id.clone(),
        rid: "room_exp-1".into(),
        role: role.into(),
        r#gen: 0,
        jti: "j".into(),
        iat: at - 100,
        exp,
        typ: PARTICIPANT_ACCESS.into(),
    };
    let expired = app
        .state
        .signer
        .mint_participant(claims(at - 10, "participant"));
    let reply = app.get("/api/v1/rooms/exp-1", &Cred::Bearer(expired)).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNAUTHORIZED, "TOKEN_EXPIRED")
    );
    // Signed with another secret, claiming to be a host: refused, and the room lives on.
    let forged = TokenSigner::new(b"not-the-server-secret-not-the-server-secret")
        .mint_participant(claims(at + 600, "host"));
    let end = app
        .send(
            "POST",
            "/api/v1/rooms/exp-1/end",
            &Cred::Bearer(forged),
            &[],
            None,
        )
        .await;
    assert_eq!(
        (end.status, end.code()),
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
    );
    // The role comes from the store, not the token: even a correctly signed token claiming
    // `host` for a participant cannot end the room.
    let claimed_host = app.state.signer.mint_participant(claims(at + 600, "host"));
    let end = app
        .send(
            "POST",
            "/api/v1/rooms/exp-1/end",
            &Cred::Bearer(claimed_host),
            &[],
            None,
        )
        .await;
    assert_eq!(
        (end.status, end.code()),
        (StatusCode::FORBIDDEN, "FORBIDDEN")
    );
    let own = Cred::Bearer(s(&joined["access_token"]));
    assert_eq!(
        app.get("/api/v1/rooms/exp-1", &own).await.body["data"]["status"],
        "active"
    );
}

/// Found by schemathesis: the document marks the token body optional (nullable), so a
/// JSON `null` body is the backend's no-body renewal, not a 422.
#[tokio::test]
async fn a_null_token_body_is_the_same_as_none() {
    let app = app().await;
    let (_, key) = app.tenant(json!({}), json!({})).await;
    let key = Cred::Key(key);
    let joined = app
        .join(&key, "room_nullbody", json!({"display_name": "A"}))
        .await;
    let pid = s(&joined["participant"]["id"]);
    let path = format!("/api/v1/rooms/room_nullbody/participants/{pid}/token");

    let renewed = app.post(&path, &key, Value::Null).await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    assert_eq!(renewed.body["data"]["participant_id"], pid);
    // The renewal took effect: the tokens from the join are dead.
    let old = app
        .get(
            "/api/v1/rooms/room_nullbody",
            &Cred::Bearer(s(&joined["access_token"])),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = app
        .get(
            "/api/v1/rooms/room_nullbody",
            &Cred::Bearer(s(&renewed.body["data"]["access_token"])),
        )
        .await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.body);
}
