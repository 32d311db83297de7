//! The crash window of idempotent creates is closed: a create, its side rows and its
//! idempotency record commit in one transaction. The store's fault hook fails each step of
//! that transaction in turn (every statement, then the commit, then "committed but the
//! answer was lost"); whatever fails, a retry with the same `Idempotency-Key` ends with
//! exactly one of the thing created, and a further retry replays the same answer.

use serde_json::{Value, json};

use crate::common::*;

/// One idempotent create, and how to count what it creates.
struct Operation {
    name: &'static str,
    path: String,
    credential: Credential,
    body: Value,
}

enum Credential {
    Master,
    Key(String),
}

impl Operation {
    async fn send(&self, app: &TestApp, idempotency_key: &str) -> Response {
        let call = app
            .post(&self.path)
            .header("Idempotency-Key", idempotency_key)
            .json(self.body.clone());
        match &self.credential {
            Credential::Master => call.master(),
            Credential::Key(key) => call.key(key),
        }
        .send()
        .await
    }
}

fn len(response: &Response) -> usize {
    response.body["data"].as_array().map_or(0, Vec::len)
}

/// What the store holds: tenants, the tenant's keys, its rooms, and the participants
/// present in room `cs101`.
async fn census(app: &TestApp, tenant: &Tenant) -> [usize; 4] {
    let tenants = len(&app.get("/api/v1/tenants?limit=200").master().send().await);
    let path = format!("/api/v1/tenants/{}/api-keys?limit=200", tenant.id);
    let keys = len(&app.get(&path).master().send().await);
    let rooms = len(&app
        .get("/api/v1/rooms?limit=200")
        .key(&tenant.key)
        .send()
        .await);
    let room = app.get("/api/v1/rooms/cs101").key(&tenant.key).send().await;
    let participants = room.body["data"]["participant_count"].as_u64().unwrap_or(0) as usize;
    [tenants, keys, rooms, participants]
}

async fn setup() -> (TestApp, Tenant, Vec<Operation>) {
    let app = test_app().await;
    let tenant = app.tenant("Acme").await;
    // Authenticate once, so the key's `last_used_at` write is behind us and every
    // counted step below belongs to the create under test.
    app.get("/api/v1/tenant")
        .key(&tenant.key)
        .send()
        .await
        .assert_status(200);
    app.post("/api/v1/rooms")
        .key(&tenant.key)
        .json(json!({"id": "cs101"}))
        .send()
        .await
        .assert_status(201);
    let operations = vec![
        Operation {
            name: "tenant",
            path: "/api/v1/tenants".into(),
            credential: Credential::Master,
            body: json!({"name": "Globex", "email": "ops@globex.test"}),
        },
        Operation {
            name: "api key",
            path: format!("/api/v1/tenants/{}/api-keys", tenant.id),
            credential: Credential::Master,
            body: json!({"name": "ci", "scopes": ["tenant:read"]}),
        },
        Operation {
            name: "room",
            path: "/api/v1/rooms".into(),
            credential: Credential::Key(tenant.key.clone()),
            body: json!({"name": "Physics"}),
        },
        Operation {
            name: "participant",
            path: "/api/v1/rooms/cs101/participants".into(),
            credential: Credential::Key(tenant.key.clone()),
            body: json!({"display_name": "Alice", "role": "host", "user_id": "alice"}),
        },
    ];
    (app, tenant, operations)
}

/// Runs `operation` with a fault armed by `arm`; returns whether the fault fired. Checks
/// the contract either way: one of the thing, and the same answer on every retry.
async fn try_with_fault(step: Option<i64>) -> bool {
    let mut fired_any = false;
    let (app, tenant, operations) = setup().await;
    for (n, operation) in operations.iter().enumerate() {
        let before = census(&app, &tenant).await;
        let key = format!("crash-{n}");
        let faults = app.state.store.faults();
        match step {
            Some(step) => faults.fail_step(step),
            None => faults.fail_after_commit(),
        }
        let first = operation.send(&app, &key).await;
        let fired = !faults.pending();
        faults.disarm();
        fired_any |= fired;
        if fired {
            first.assert_error(503, "UNAVAILABLE");
        } else {
            assert!(
                first.status == 201,
                "{} without a fault: {} {}",
                operation.name,
                first.status,
                first.text
            );
        }
        let retry = operation.send(&app, &key).await;
        assert_eq!(
            retry.status, 201,
            "{} retry: {}",
            operation.name, retry.text
        );
        let again = operation.send(&app, &key).await;
        assert_eq!(again.status, 201);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(
            again.body, retry.body,
            "{}: the same answer every time",
            operation.name
        );
        let after = census(&app, &tenant).await;
        let grew: Vec<usize> = after.iter().zip(before).map(|(a, b)| a - b).collect();
        let expected = match operation.name {
            "tenant" => [1, 0, 0, 0],
            "api key" => [0, 1, 0, 0],
            "room" => [0, 0, 1, 0],
            _ => [0, 0, 0, 1],
        };
        assert_eq!(
            grew, expected,
            "{} with the fault at {step:?}: exactly one created",
            operation.name
        );
    }
    fired_any
}

#[tokio::test]
async fn a_failure_at_any_step_of_a_create_never_creates_twice() {
    let mut step = 0;
    // Every statement and the commit of each create, until no create has that many steps.
    while try_with_fault(Some(step)).await {
        step += 1;
        assert!(step < 50, "a create should not take 50 statements");
    }
    assert!(
        step >= 3,
        "the faults reached into the creates ({step} steps)"
    );
}

#[tokio::test]
async fn a_commit_whose_answer_is_lost_is_replayed_not_redone() {
    assert!(try_with_fault(None).await);
}
