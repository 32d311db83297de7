//! A participant's presence ends when its tokens do (docs/api.md "Usage metering": join →
//! leave, kick, room end or token expiry): through the router, the refresh tokens' `exp`
//! is what the store records, and once the sweeper passes it the room, the tenant's usage
//! and its events show the participant gone, as after a kick.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::harness::*;

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

/// The `exp` claim of a token.
fn exp(token: &Value) -> i64 {
    let token = s(token);
    let payload = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).expect("three segments"))
        .expect("base64url");
    serde_json::from_slice::<Value>(&payload).unwrap()["exp"]
        .as_i64()
        .expect("exp")
}

/// The participant as the store holds it.
async fn stored(app: &App, pid: &str) -> chalk_server::store::ParticipantRow {
    let mut db = app.state.store.read().await.unwrap();
    chalk_server::store::participants::participant(&mut db, pid)
        .await
        .unwrap()
        .expect("the participant is kept")
}

#[tokio::test]
async fn the_sweeper_ends_a_participant_at_its_last_refresh_tokens_expiry() {
    let app = app().await;
    let (tenant_id, key) = app
        .tenant(json!({}), json!({"empty_room_timeout_minutes": 1}))
        .await;
    let key = Cred::Key(key);
    let a = app.join(&key, "expiry", json!({"display_name": "A"})).await;
    let b = app.join(&key, "expiry", json!({"display_name": "B"})).await;
    let (a_id, b_id) = (s(&a["participant"]["id"]), s(&b["participant"]["id"]));
    // The join records the expiry of the refresh token it hands out, to the second.
    let a_expiry = exp(&a["refresh_token"]);
    assert_eq!(stored(&app, &a_id).await.tokens_expire_at, Some(a_expiry));

    // Each renewal records its new refresh token's expiry: by the tenant, and by the
    // participant's own refresh token. (A second later, so B outlives A.)
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let token_path = |pid: &str| format!("/api/v1/rooms/expiry/participants/{pid}/token");
    let renewed = app.send("POST", &token_path(&b_id), &key, &[], None).await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let by_tenant = exp(&renewed.body["data"]["refresh_token"]);
    assert!(by_tenant > a_expiry);
    assert_eq!(stored(&app, &b_id).await.tokens_expire_at, Some(by_tenant));
    let renewed = app
        .post(
            &token_path(&b_id),
            &Cred::None,
            json!({"refresh_token": renewed.body["data"]["refresh_token"]}),
        )
        .await;
    assert_eq!(renewed.status, StatusCode::OK, "{}", renewed.body);
    let b_expiry = exp(&renewed.body["data"]["refresh_token"]);
    assert!(b_expiry >= by_tenant);
    assert_eq!(stored(&app, &b_id).await.tokens_expire_at, Some(b_expiry));

    let sweep = chalk_server::workers::room_sweeper::sweep;
    let room = || app.get("/api/v1/rooms/expiry", &key);
    let active_participants = || async {
        app.get(&format!("/api/v1/tenants/{tenant_id}"), &Cred::Master)
            .await
            .body["data"]["usage"]["active_participants"]
            .clone()
    };
    let left_events = || async {
        app.get(
            &format!("/api/v1/tenants/{tenant_id}/events?type=participant.left"),
            &Cred::Master,
        )
        .await
        .body["data"]
            .as_array()
            .expect("a page of events")
            .iter()
            .map(|e| s(&e["data"]["participant"]["id"]))
            .collect::<Vec<_>>()
    };

    // A second before A's refresh token expires, nobody is ended.
    assert_eq!(sweep(&app.state, a_expiry - 1).await.unwrap(), 0);
    assert_eq!(room().await.body["data"]["participant_count"], 2);
    assert_eq!(left_events().await, Vec::<String>::new());

    // At its expiry A is gone, as after a kick: the room counts B alone, the tenant's usage
    // too, a participant.left event names A, and A cannot be renewed any more.
    assert_eq!(sweep(&app.state, a_expiry).await.unwrap(), 0);
    let reply = room().await;
    assert_eq!(reply.body["data"]["participant_count"], 1);
    assert_eq!(reply.body["data"]["status"], "active");
    assert_eq!(active_participants().await, 1);
    assert_eq!(left_events().await, vec![a_id.clone()]);
    let gone = stored(&app, &a_id).await;
    assert_eq!(gone.left_at, Some(a_expiry));
    let refused = app.send("POST", &token_path(&a_id), &key, &[], None).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
    assert_eq!(refused.code(), "NOT_FOUND");
    // Sweeping again ends nobody twice.
    assert_eq!(sweep(&app.state, a_expiry).await.unwrap(), 0);
    assert_eq!(left_events().await, vec![a_id.clone()]);

    // B ends at its own expiry, leaving the room empty from then: the empty-room sweeper
    // ends it a timeout (1 minute) later.
    assert_eq!(sweep(&app.state, b_expiry).await.unwrap(), 0);
    let reply = room().await;
    assert_eq!(reply.body["data"]["participant_count"], 0);
    assert_eq!(reply.body["data"]["status"], "active");
    assert_eq!(active_participants().await, 0);
    assert_eq!(left_events().await, vec![b_id.clone(), a_id.clone()]);
    assert_eq!(sweep(&app.state, b_expiry + 59).await.unwrap(), 0);
    assert_eq!(sweep(&app.state, b_expiry + 60).await.unwrap(), 1);
    assert_eq!(room().await.body["data"]["status"], "ended");
}
