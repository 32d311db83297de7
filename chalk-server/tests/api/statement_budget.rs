//! The writer's statement budget (issue 24): what each benchmarked write runs on the writer
//! connection, counted by the store (`Faults::steps_taken`: every statement of a write
//! transaction, and its commit). On SQLite the writer is one connection that every write
//! waits for, so each statement here is time every other write waits; `bench/README.md`
//! records the counts beside the throughput. A write that needs more fails here, by name.

use serde_json::{Value, json};

use crate::common::*;

/// The statements `call` ran on the writer, and its response.
async fn counted(app: &TestApp, call: Call<'_>) -> (u64, Response) {
    let faults = app.state.store.faults();
    let before = faults.steps_taken();
    let response = call.send().await;
    (faults.steps_taken() - before, response)
}

fn check(row: &str, steps: u64, budget: u64, response: &Response, status: u16) {
    response.assert_status(status);
    eprintln!("statement budget: {row}: {steps} (budget {budget})");
    assert!(
        steps <= budget,
        "{row} ran {steps} statements on the writer; its budget is {budget}"
    );
}

#[tokio::test]
async fn each_benchmarked_write_stays_within_its_statement_budget() {
    let app = test_app().await;
    let tenant = app
        .create_tenant(json!({"name": "Bench", "max_participants_per_room": 100}))
        .await;
    // Authenticate once: the key's first use writes `last_used_at`, which is not the
    // request measured below.
    app.get("/api/v1/tenant")
        .key(&tenant.key)
        .send()
        .await
        .assert_status(200);

    let (steps, response) = counted(
        &app,
        app.post("/api/v1/tenants")
            .master()
            .json(json!({"name": "Globex"})),
    )
    .await;
    check("POST /tenants", steps, 4, &response, 201);

    let path = format!("/api/v1/tenants/{}/config", tenant.id);
    let patch: Value = json!({"transcription_language": "es-ES"});
    let (steps, response) = counted(&app, app.patch(&path).key(&tenant.key).json(patch)).await;
    check("PATCH /tenants/{id}/config", steps, 5, &response, 200);

    let (steps, response) = counted(
        &app,
        app.post("/api/v1/auth/token")
            .json(json!({"api_key": tenant.key})),
    )
    .await;
    check("POST /auth/token", steps, 2, &response, 200);
    let refresh = response.body["data"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (steps, response) = counted(
        &app,
        app.post("/api/v1/auth/refresh")
            .json(json!({"refresh_token": refresh})),
    )
    .await;
    check("POST /auth/refresh", steps, 4, &response, 200);

    let (steps, response) = joined_within_the_hour(&app, &tenant.key, true).await;
    check("join, creating the room", steps, 13, &response, 201);
    let (steps, response) = joined_within_the_hour(&app, &tenant.key, false).await;
    check("join", steps, 6, &response, 201);
}

/// A join measured right after another join of the tenant in the same UTC hour (joined
/// again if an hour turned in between). Within the hour of the tenant's last metered
/// change a join meters on the tenant row (issue 27, migration 0012); the first change of
/// a later hour also writes that hour out: two statements more, once an hour, pinned by
/// `tests/rooms/metering.rs`.
async fn joined_within_the_hour(app: &TestApp, key: &str, creating: bool) -> (u64, Response) {
    let join = |room: &str, name: &str| {
        app.post(&format!("/api/v1/rooms/{room}/participants"))
            .key(key)
            .json(json!({"display_name": name}))
    };
    for attempt in 0..3 {
        let hour = chalk_server::clock::now().div_euclid(3600);
        join("bench-1", "before").send().await.assert_status(201);
        let room = if creating {
            format!("created-{attempt}")
        } else {
            "bench-1".to_owned()
        };
        let measured = counted(app, join(&room, "measured")).await;
        if chalk_server::clock::now().div_euclid(3600) == hour {
            return measured;
        }
    }
    panic!("three hours turned during three pairs of joins");
}
