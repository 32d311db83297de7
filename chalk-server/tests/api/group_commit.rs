//! Group commit (store/group_commit.rs): concurrent writes share one COMMIT on SQLite,
//! each in its own savepoint. A request refused half-way (quota, validation, conflict)
//! rolls back only its own work: its batch neighbours commit, and every 201 is stored.
//! (On PostgreSQL each write is its own transaction; the same must hold.)

use std::collections::HashSet;

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_requests_in_a_batch_leave_their_neighbours_committed() {
    let app = test_app().await;
    let tenant = app
        .create_tenant(json!({"name": "Acme", "max_concurrent_rooms": 12}))
        .await;
    // 30 distinct rooms (12 fit the quota), 10 bad ids (validation), 10 copies of one
    // id (one wins, the rest conflict), 10 tenants with a taken email (conflict) and 10
    // good tenants: all at once.
    let mut requests: Vec<(String, Value, bool)> = Vec::new();
    for i in 0..30 {
        requests.push((
            "/api/v1/rooms".into(),
            json!({"id": format!("room-{i}")}),
            false,
        ));
    }
    for i in 0..10 {
        requests.push((
            "/api/v1/rooms".into(),
            json!({"id": format!("Bad Id {i}!")}),
            false,
        ));
        requests.push(("/api/v1/rooms".into(), json!({"id": "same-room"}), false));
        requests.push((
            "/api/v1/tenants".into(),
            json!({"name": format!("Taken {i}"), "email": "taken@example.com"}),
            true,
        ));
        requests.push((
            "/api/v1/tenants".into(),
            json!({"name": format!("Fresh {i}"), "email": format!("fresh{i}@example.com")}),
            true,
        ));
    }
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(path, body, master)| {
            let router = app.router.clone();
            let key = tenant.key.clone();
            tokio::spawn(async move {
                let builder =
                    Request::post(path.as_str()).header("Content-Type", "application/json");
                let builder = if master {
                    builder.header("X-Master-Key", MASTER_KEY)
                } else {
                    builder.header("X-API-Key", key)
                };
                let response =
                    send(&router, builder.body(Body::from(body.to_string())).unwrap()).await;
                (path, body, response)
            })
        })
        .collect();
    let mut rooms_created = HashSet::new();
    let mut tenants_created = HashSet::new();
    let (mut quota, mut invalid, mut conflicts) = (0, 0, 0);
    for task in tasks {
        let (path, body, response) = task.await.unwrap();
        match response.status {
            201 if path.ends_with("rooms") => {
                rooms_created.insert(response.body["data"]["id"].as_str().unwrap().to_owned());
            }
            201 => {
                tenants_created.insert(response.body["data"]["id"].as_str().unwrap().to_owned());
            }
            409 if response.body["error"]["code"] == "QUOTA_EXCEEDED" => quota += 1,
            409 => {
                response.assert_error(409, "CONFLICT");
                conflicts += 1;
            }
            422 => {
                response.assert_error(422, "VALIDATION_ERROR");
                invalid += 1;
            }
            other => panic!("unexpected {other} for {path} {body}: {}", response.text),
        }
    }
    assert_eq!(invalid, 10);
    assert_eq!(rooms_created.len(), 12, "exactly the quota");
    // The other 28 room creates are refused by the quota or as duplicates (a duplicate
    // may meet the quota first); one "taken" email wins, 9 conflict.
    assert_eq!(quota + conflicts, 28 + 9);
    assert_eq!(tenants_created.len(), 11);

    // Every acknowledged create is stored, and nothing else.
    let listed = app
        .get("/api/v1/rooms?limit=100")
        .key(&tenant.key)
        .send()
        .await;
    let stored: HashSet<String> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, rooms_created);
    for id in &tenants_created {
        app.read_tenant(id).await.assert_status(200);
    }
    let all = app.get("/api/v1/tenants?limit=100").master().send().await;
    assert_eq!(all.body["data"].as_array().unwrap().len(), 1 + 11);
    let usage = &app.read_tenant(&tenant.id).await.body["data"]["usage"];
    assert_eq!(usage["active_rooms"], 12);
}
