//! Usage counters are kept by the writes that change what they count (migration 0008).
//! They must stay exactly what a full count of the rows says, through concurrent joins,
//! replacements, removals, room ends, key changes and the empty-room sweeper.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{App, Cred, app};

/// What the counters should say, counted from the rows themselves.
async fn recount(app: &App, tenant_id: &str, now: i64) -> Value {
    let mut db = app.state.store.read().await.unwrap();
    let count = |sql: &'static str| {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(tenant_id.to_owned())
            .bind(now)
    };
    let active_rooms =
        count("SELECT COUNT(*) FROM rooms WHERE tenant_id = $1 AND ended_at IS NULL AND $2 = $2")
            .fetch_one(db.conn().unwrap())
            .await
            .unwrap();
    let total_rooms = count("SELECT COUNT(*) FROM rooms WHERE tenant_id = $1 AND $2 = $2")
        .fetch_one(db.conn().unwrap())
        .await
        .unwrap();
    let active_participants = count(
        "SELECT COUNT(*) FROM participants p JOIN rooms r \
         ON r.tenant_id = p.tenant_id AND r.id = p.room_id \
         WHERE p.tenant_id = $1 AND p.left_at IS NULL AND r.ended_at IS NULL AND $2 = $2",
    )
    .fetch_one(db.conn().unwrap())
    .await
    .unwrap();
    let api_keys = count(
        "SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2)",
    )
    .fetch_one(db.conn().unwrap())
    .await
    .unwrap();
    json!({
        "active_rooms": active_rooms,
        "total_rooms": total_rooms,
        "active_participants": active_participants,
        "api_keys": api_keys,
    })
}

async fn usage(app: &App, tenant_id: &str) -> Value {
    let reply = app
        .get(&format!("/api/v1/tenants/{tenant_id}"), &Cred::Master)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["data"]["usage"].clone()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Sends `count` concurrent requests built by `request(i)`; returns statuses and bodies.
async fn burst(
    app: &App,
    count: usize,
    request: impl Fn(usize) -> (String, String, Option<Value>),
    key: &str,
) -> Vec<(StatusCode, Value)> {
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let router = app.router.clone();
            let key = key.to_owned();
            let (method, path, body) = request(i);
            tokio::spawn(async move {
                use tower::ServiceExt;
                let builder = axum::http::Request::builder()
                    .method(method.as_str())
                    .uri(path)
                    .header("x-api-key", key);
                let request = match body {
                    Some(body) => builder
                        .header("content-type", "application/json")
                        .body(axum::body::Body::from(body.to_string())),
                    None => builder.body(axum::body::Body::empty()),
                }
                .unwrap();
                use http_body_util::BodyExt;
                let response = router.oneshot(request).await.unwrap();
                let status = response.status();
                let bytes = response.into_body().collect().await.unwrap().to_bytes();
                (
                    status,
                    serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                )
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn usage_counters_stay_exact_under_concurrent_joins_leaves_ends_and_the_sweeper() {
    let app = app().await;
    let (tenant_id, key) = app
        .tenant(
            json!({"max_concurrent_rooms": 12, "max_participants_per_room": 6}),
            json!({"duplicate_participant_policy": "disconnect_existing", "allow_early_join": true,
                   "empty_room_timeout_minutes": 1}),
        )
        .await;
    assert_eq!(
        usage(&app, &tenant_id).await,
        recount(&app, &tenant_id, now()).await
    );

    // Concurrent joins into 8 rooms (room0..room7) (some created by the join, some full, some replacing
    // a present user), plus rooms created directly, some past the room quota.
    let joins = burst(
        &app,
        80,
        |i| {
            (
                "POST".into(),
                format!("/api/v1/rooms/room{}/participants", i % 8),
                Some(json!({"display_name": format!("P{i}"), "user_id": format!("u{}", i % 20)})),
            )
        },
        &key,
    )
    .await;
    assert!(
        joins.iter().any(|(s, _)| *s == StatusCode::CREATED),
        "{joins:?}"
    );
    let creates = burst(
        &app,
        10,
        |i| {
            (
                "POST".into(),
                "/api/v1/rooms".into(),
                Some(json!({"id": format!("idle{i}")})),
            )
        },
        &key,
    )
    .await;
    assert!(
        creates.iter().any(|(s, _)| *s == StatusCode::CONFLICT),
        "quota reached: {creates:?}"
    );
    assert_eq!(
        usage(&app, &tenant_id).await,
        recount(&app, &tenant_id, now()).await
    );

    // Concurrently: remove every present participant of room0 and room1, end room2 and room3 (twice
    // each), and keep joining room4..room7.
    // (Some were replaced since: removing those is a 404 that changes nothing.)
    let present: Vec<(String, String)> = joins
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .map(|(_, body)| {
            (
                body["data"]["room"]["id"].as_str().unwrap().to_owned(),
                body["data"]["participant"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .filter(|(room, _)| room.ends_with("room0") || room.ends_with("room1"))
        .collect();
    assert!(!present.is_empty());
    let mut requests: Vec<(String, String, Option<Value>)> = present
        .iter()
        .map(|(room, pid)| {
            (
                "DELETE".to_owned(),
                format!("/api/v1/rooms/{room}/participants/{pid}"),
                None,
            )
        })
        .collect();
    for room in ["room2", "room3", "room2", "room3"] {
        requests.push(("POST".into(), format!("/api/v1/rooms/{room}/end"), None));
    }
    for i in 0..20 {
        requests.push((
            "POST".into(),
            format!("/api/v1/rooms/room{}/participants", 4 + i % 4),
            Some(json!({"display_name": format!("Q{i}"), "user_id": format!("v{}", i % 7)})),
        ));
    }
    let statuses = burst(&app, requests.len(), |i| requests[i].clone(), &key).await;
    assert!(
        statuses.iter().all(|(s, _)| s.is_success()
            || *s == StatusCode::CONFLICT
            || *s == StatusCode::NOT_FOUND),
        "{statuses:?}"
    );
    assert_eq!(
        usage(&app, &tenant_id).await,
        recount(&app, &tenant_id, now()).await
    );

    // Keys: created, one expiring soon, one revoked, a rotation without grace.
    let extra = app
        .post(
            &format!("/api/v1/tenants/{tenant_id}/api-keys"),
            &Cred::Master,
            json!({"name": "ci", "scopes": ["rooms:read"]}),
        )
        .await;
    assert_eq!(extra.status, StatusCode::CREATED, "{}", extra.body);
    let expiring = app
        .post(
            &format!("/api/v1/tenants/{tenant_id}/api-keys"),
            &Cred::Master,
            json!({"name": "brief", "scopes": ["rooms:read"],
                   "expires_at": chrono::DateTime::from_timestamp(now() + 60, 0).unwrap()}),
        )
        .await;
    assert_eq!(expiring.status, StatusCode::CREATED, "{}", expiring.body);
    let revoked = app
        .send(
            "DELETE",
            &format!(
                "/api/v1/tenants/{tenant_id}/api-keys/{}",
                extra.body["data"]["key_id"].as_str().unwrap()
            ),
            &Cred::Master,
            &[],
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    let rotated = app
        .post(
            &format!("/api/v1/tenants/{tenant_id}/rotate-key"),
            &Cred::Master,
            json!({}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let usage_now = usage(&app, &tenant_id).await;
    assert_eq!(usage_now, recount(&app, &tenant_id, now()).await);
    assert_eq!(
        usage_now["api_keys"], 2,
        "the new primary and the expiring key"
    );

    // The sweeper ends every empty room (room0, room1 and the idle ones); its counts and the
    // rows agree afterwards.
    let swept = chalk_server::workers::room_sweeper::sweep(&app.state, now() + 120)
        .await
        .unwrap();
    assert!(swept >= 2, "swept {swept}");
    assert_eq!(
        usage(&app, &tenant_id).await,
        recount(&app, &tenant_id, now()).await
    );
}
