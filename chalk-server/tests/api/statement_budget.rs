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
    check("POST /tenants", steps, 5, &response, 201);

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

    let join = |name: &str| {
        app.post("/api/v1/rooms/bench-1/participants")
            .key(&tenant.key)
            .json(json!({"display_name": name}))
    };
    // Each join writes its usage hour (issue 27: the time metrics are written by the
    // transaction that changes them, so a kill -9 loses none): one statement more than
    // before metering, whatever the hours the span since the tenant's last change crosses.
    let (steps, response) = counted(&app, join("first")).await;
    check("join, creating the room", steps, 13, &response, 201);
    let (steps, response) = counted(&app, join("second")).await;
    check("join", steps, 8, &response, 201);
}
