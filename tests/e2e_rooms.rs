//! Rooms and participants end to end: a real server on 127.0.0.1:0, driven through the SDK,
//! and the Chalk authentication guide's flow as the raw HTTP a backend and browser send.

mod common;

use chalk_sdk::model::{
    AddParticipantRequest, CreateRoomRequest, CreateTenantRequest, ErrorCode, ListRoomsQuery,
    ParticipantRole, RoomStatus,
};
use chalk_sdk::{Client, Error};
use common::{MASTER_KEY, TestServer};
use futures_util::TryStreamExt;
use serde_json::{Value, json};

async fn tenant_client(server: &TestServer) -> Client {
    let master = Client::builder()
        .base_url(&server.base_url)
        .master_key(MASTER_KEY)
        .build()
        .unwrap();
    let created = master
        .tenants()
        .create(&CreateTenantRequest::new("Acme University"))
        .await
        .unwrap();
    Client::builder()
        .base_url(&server.base_url)
        .api_key(created.api_key)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_sdk_drives_rooms_and_participants() {
    let server = TestServer::start().await;
    let client = tenant_client(&server).await;

    let room = client
        .rooms()
        .create(&CreateRoomRequest {
            id: Some("cs101".into()),
            max_participants: Some(2),
            ..CreateRoomRequest::named("CS101 Lecture")
        })
        .await
        .unwrap();
    assert_eq!(room.id, "room_cs101");
    assert_eq!(room.status, RoomStatus::Active);

    let participants = client.rooms().participants("cs101");
    let host = participants
        .add(&AddParticipantRequest::new("Prof", ParticipantRole::Host))
        .await
        .unwrap();
    let student = participants
        .add_with_idempotency_key(
            &AddParticipantRequest::new("Bo", ParticipantRole::Participant),
            "join-bo",
        )
        .await
        .unwrap();
    assert_eq!(student.room.participant_count, 2);
    let full = participants
        .add(&AddParticipantRequest::new(
            "Cy",
            ParticipantRole::Participant,
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &full,
            Error::Api {
                code: ErrorCode::QuotaExceeded,
                ..
            }
        ),
        "{full:?}"
    );

    // The browser's view, with the participant token.
    let browser = Client::builder()
        .base_url(&server.base_url)
        .tokens(student.access_token.clone(), student.refresh_token.clone())
        .build()
        .unwrap();
    assert_eq!(browser.rooms().get("cs101").await.unwrap().id, "room_cs101");

    // Backend refresh, then a browser refresh with the refresh token it got.
    let backend_pair = participants.token(&student.participant.id).await.unwrap();
    let anonymous = Client::builder()
        .base_url(&server.base_url)
        .build()
        .unwrap();
    let browser_pair = anonymous
        .rooms()
        .participants("room_cs101")
        .refresh(&student.participant.id, &backend_pair.refresh_token)
        .await
        .unwrap();
    let reused = anonymous
        .rooms()
        .participants("room_cs101")
        .refresh(&student.participant.id, &backend_pair.refresh_token)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &reused,
            Error::Api {
                code: ErrorCode::InvalidRefreshToken,
                ..
            }
        ),
        "{reused:?}"
    );
    let renewed = Client::builder()
        .base_url(&server.base_url)
        .tokens(browser_pair.access_token, browser_pair.refresh_token)
        .build()
        .unwrap();
    assert_eq!(
        renewed
            .rooms()
            .get("cs101")
            .await
            .unwrap()
            .participant_count,
        2
    );

    // The host removes the student, then ends the room.
    let host_client = Client::builder()
        .base_url(&server.base_url)
        .tokens(host.access_token, host.refresh_token)
        .build()
        .unwrap();
    let removed = host_client
        .rooms()
        .participants("cs101")
        .remove(&student.participant.id)
        .await
        .unwrap();
    assert!(removed.deleted);
    assert!(renewed.rooms().get("cs101").await.is_err());
    let ended = host_client.rooms().end("cs101").await.unwrap();
    assert_eq!(ended.status, RoomStatus::Ended);

    let all: Vec<_> = client
        .rooms()
        .list_all(ListRoomsQuery {
            status: Some(RoomStatus::Ended),
            limit: Some(1),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    let usage = client.tenants().current().await.unwrap().usage;
    assert_eq!(
        (
            usage.active_rooms,
            usage.total_rooms,
            usage.active_participants
        ),
        (0, 1, 0)
    );
    server.shutdown().await;
}

/// The guide's backend (`fetch` with X-API-Key and JSON), browser (Bearer token) and token
/// refresh (a POST with only X-API-Key), over a real socket.
#[tokio::test]
async fn the_authentication_guide_over_http() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{}/api/v1/tenants", server.base_url))
        .header("X-Master-Key", MASTER_KEY)
        .json(&json!({"name": "Acme"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api_key = created["data"]["api_key"].as_str().unwrap().to_owned();
    let room_id = "cs101-lecture";

    let response = http
        .post(format!(
            "{}/api/v1/rooms/{room_id}/participants",
            server.base_url
        ))
        .header("X-API-Key", &api_key)
        .header("Content-Type", "application/json")
        .body(json!({"display_name": "Alice", "role": "participant"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let data: Value = response.json().await.unwrap();
    let access_token = data["access_token"].as_str().unwrap().to_owned();
    let participant_id = data["participant"]["id"].as_str().unwrap().to_owned();
    let joined_room = data["room"]["id"].as_str().unwrap().to_owned();
    assert!(data["refresh_token"].is_string());

    let room = http
        .get(format!("{}/api/v1/rooms/{joined_room}", server.base_url))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(room.status(), 200);

    let refreshed = http
        .post(format!(
            "{}/api/v1/rooms/{joined_room}/participants/{participant_id}/token",
            server.base_url
        ))
        .header("X-API-Key", &api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let pair: Value = refreshed.json().await.unwrap();
    assert!(pair["access_token"].is_string() && pair["refresh_token"].is_string());
    let again = http
        .get(format!("{}/api/v1/rooms/{joined_room}", server.base_url))
        .bearer_auth(pair["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    server.shutdown().await;
}
