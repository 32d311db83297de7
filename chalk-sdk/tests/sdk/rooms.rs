//! `client.rooms()` and `client.rooms().participants(id)`.

use chalk_sdk::model::{
    AddParticipantRequest, CreateRoomRequest, ErrorCode, ListRoomsQuery, ParticipantRole,
    RoomStatus,
};
use chalk_sdk::{Error, SecretString};
use futures_util::TryStreamExt;
use serde_json::{Value, json};
use wiremock::matchers::{
    body_json, header, header_exists, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

fn room(id: &str) -> Value {
    json!({
        "id": id, "name": "CS101 Lecture", "status": "active", "scheduled_start": null,
        "max_participants": 30, "participant_count": 2,
        "created_at": "2026-01-06T10:00:00Z", "ended_at": null
    })
}

fn joined() -> Value {
    json!({
        "participant": {"id": "part_1", "room_id": "room_cs101", "display_name": "Alice",
            "role": "host", "user_id": "user-42", "joined_at": "2026-01-06T10:00:00Z"},
        "room": room("room_cs101"),
        "access_token": "eyJ.access", "refresh_token": "eyJ.refresh",
        "token_type": "Bearer", "expires_in": 3600
    })
}

fn tokens() -> Value {
    json!({"participant_id": "part_1", "room_id": "room_cs101", "access_token": "eyJ.new",
        "refresh_token": "eyJ.newrefresh", "token_type": "Bearer", "expires_in": 3600})
}

#[tokio::test]
async fn create_sends_the_body_and_an_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/rooms"))
        .and(header("x-api-key", API_KEY))
        .and(header_exists("idempotency-key"))
        .and(body_json(
            json!({"id": "cs101", "name": "CS101 Lecture", "max_participants": 30}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(data(room("room_cs101"))))
        .expect(1)
        .mount(&server)
        .await;
    let request = CreateRoomRequest {
        id: Some("cs101".into()),
        max_participants: Some(30),
        ..CreateRoomRequest::named("CS101 Lecture")
    };
    let created = tenant_key(&server).rooms().create(&request).await.unwrap();
    assert_eq!(created.id, "room_cs101");
    assert_eq!(created.status, RoomStatus::Active);
    assert_eq!(created.participant_count, 2);
}

#[tokio::test]
async fn create_with_idempotency_key_and_quota_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/rooms"))
        .and(header("idempotency-key", "standup-1"))
        .respond_with(ResponseTemplate::new(409).set_body_json(error_body(
            "QUOTA_EXCEEDED",
            "The tenant already has 2 open rooms (max_concurrent_rooms)",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let error = tenant_key(&server)
        .rooms()
        .create_with_idempotency_key(&CreateRoomRequest::default(), "standup-1")
        .await
        .unwrap_err();
    match error {
        Error::Api { status, code, .. } => {
            assert_eq!(status, 409);
            assert_eq!(code, ErrorCode::QuotaExceeded);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn list_filters_by_status_and_list_all_follows_cursors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/rooms"))
        .and(query_param("status", "active"))
        .and(query_param_is_missing("cursor"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [room("room_a")], "next_cursor": "c2"})),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/rooms"))
        .and(query_param("cursor", "c2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [room("room_b")], "next_cursor": null})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = tenant_key(&server);
    let query = ListRoomsQuery {
        status: Some(RoomStatus::Active),
        ..Default::default()
    };
    let page = client.rooms().list(&query).await.unwrap();
    assert_eq!(page.next_cursor.as_deref(), Some("c2"));
    let all: Vec<_> = client.rooms().list_all(query).try_collect().await.unwrap();
    let ids: Vec<_> = all.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["room_a", "room_b"]);
}

#[tokio::test]
async fn get_and_end() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/rooms/room_cs101"))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(room("room_cs101"))))
        .expect(1)
        .mount(&server)
        .await;
    let mut ended = room("room_cs101");
    ended["status"] = json!("ended");
    ended["ended_at"] = json!("2026-01-06T11:00:00Z");
    Mock::given(method("POST"))
        .and(path("/api/v1/rooms/room_cs101/end"))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(ended)))
        .expect(1)
        .mount(&server)
        .await;
    let client = tenant_key(&server);
    assert_eq!(
        client.rooms().get("room_cs101").await.unwrap().id,
        "room_cs101"
    );
    let room = client.rooms().end("room_cs101").await.unwrap();
    assert_eq!(room.status, RoomStatus::Ended);
    assert!(room.ended_at.is_some());
}

#[tokio::test]
async fn add_participant_returns_tokens_that_debug_never_prints() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/rooms/room_cs101/participants"))
        .and(header_exists("idempotency-key"))
        .and(body_json(
            json!({"display_name": "Alice", "role": "host", "user_id": "user-42"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(data(joined())))
        .expect(1)
        .mount(&server)
        .await;
    let request = AddParticipantRequest {
        user_id: Some("user-42".into()),
        ..AddParticipantRequest::new("Alice", ParticipantRole::Host)
    };
    let joined = tenant_key(&server)
        .rooms()
        .participants("room_cs101")
        .add(&request)
        .await
        .unwrap();
    assert_eq!(joined.participant.id, "part_1");
    assert_eq!(joined.participant.role, ParticipantRole::Host);
    assert_eq!(joined.room.id, "room_cs101");
    assert_eq!(joined.access_token.expose(), "eyJ.access");
    assert!(!format!("{joined:?}").contains("eyJ"));
}

#[tokio::test]
async fn add_with_idempotency_key_and_conflict() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/rooms/room_cs101/participants"))
        .and(header("idempotency-key", "join-1"))
        .respond_with(ResponseTemplate::new(409).set_body_json(error_body(
            "CONFLICT",
            "user_id user-42 is already in this room",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let error = tenant_key(&server)
        .rooms()
        .participants("room_cs101")
        .add_with_idempotency_key(
            &AddParticipantRequest::new("A", ParticipantRole::Participant),
            "join-1",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Api {
                code: ErrorCode::Conflict,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn token_with_the_api_key_and_refresh_with_the_refresh_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/rooms/room_cs101/participants/part_1/token"))
        .and(header("x-api-key", API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(tokens())))
        .expect(1)
        .mount(&server)
        .await;
    let client = tenant_key(&server);
    let pair = client
        .rooms()
        .participants("room_cs101")
        .token("part_1")
        .await
        .unwrap();
    assert_eq!(pair.access_token.expose(), "eyJ.new");
    assert_eq!(pair.participant_id, "part_1");
    server.reset().await;

    Mock::given(method("POST"))
        .and(path("/api/v1/rooms/room_cs101/participants/part_1/token"))
        .and(body_json(json!({"refresh_token": "eyJ.refresh"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(tokens())))
        .expect(1)
        .mount(&server)
        .await;
    let pair = client
        .rooms()
        .participants("room_cs101")
        .refresh("part_1", &SecretString::from("eyJ.refresh"))
        .await
        .unwrap();
    assert_eq!(pair.refresh_token.expose(), "eyJ.newrefresh");
    let received = requests(&server).await;
    assert_no_credential(&received[0]);
}

#[tokio::test]
async fn remove_participant() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/rooms/room_cs101/participants/part_1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(data(json!({"id": "part_1", "deleted": true}))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let deleted = tenant_key(&server)
        .rooms()
        .participants("room_cs101")
        .remove("part_1")
        .await
        .unwrap();
    assert!(deleted.deleted);
    assert_eq!(deleted.id, "part_1");
}
