//! `client.rooms()`: `/api/v1/rooms`, and through [`Rooms::participants`] a room's
//! participants and their tokens.

use futures_util::Stream;
use reqwest::Method;

use crate::client::Client;
use crate::error::Result;
use crate::model::{
    AddParticipantRequest, CreateRoomRequest, Deleted, JoinedParticipant, ListRoomsQuery, Page,
    ParticipantTokenRequest, ParticipantTokens, Room,
};
use crate::pagination::walk;
use crate::secret::SecretString;

/// The calling tenant's rooms (a `rooms:read` / `rooms:write` credential). Get one with
/// [`Client::rooms`].
#[derive(Debug, Clone)]
pub struct Rooms<'c> {
    client: &'c Client,
}

impl<'c> Rooms<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// The participants of one room.
    ///
    /// ```no_run
    /// use chalk_sdk::model::{AddParticipantRequest, ParticipantRole};
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let joined = client
    ///     .rooms()
    ///     .participants("room_cs101")
    ///     .add(&AddParticipantRequest::new("Alice", ParticipantRole::Participant))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn participants(&self, room_id: impl Into<String>) -> Participants<'c> {
        Participants {
            client: self.client,
            room_id: room_id.into(),
        }
    }

    /// Creates a room (`POST /rooms`); 409 `QUOTA_EXCEEDED` when the tenant already has
    /// `max_concurrent_rooms` rooms that have not ended. Sent with a fresh
    /// `Idempotency-Key`, so retries never create a second room.
    ///
    /// ```no_run
    /// use chalk_sdk::model::CreateRoomRequest;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let request = CreateRoomRequest { id: Some("cs101".into()), ..CreateRoomRequest::named("CS101 Lecture") };
    /// let room = client.rooms().create(&request).await?;
    /// assert_eq!(room.id, "room_cs101");
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, request: &CreateRoomRequest) -> Result<Room> {
        self.create_inner(request, None).await
    }

    /// [`create`](Self::create) with your own `Idempotency-Key` (1..=255 printable ASCII).
    ///
    /// ```no_run
    /// use chalk_sdk::model::CreateRoomRequest;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let room = client
    ///     .rooms()
    ///     .create_with_idempotency_key(&CreateRoomRequest::named("Standup"), "standup-2026-01-06")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_with_idempotency_key(
        &self,
        request: &CreateRoomRequest,
        idempotency_key: impl Into<String>,
    ) -> Result<Room> {
        self.create_inner(request, Some(idempotency_key.into()))
            .await
    }

    async fn create_inner(
        &self,
        request: &CreateRoomRequest,
        idempotency_key: Option<String>,
    ) -> Result<Room> {
        self.client
            .call(Method::POST, &["rooms"])
            .idempotency_key(idempotency_key)
            .json(request)
            .data()
            .await
    }

    /// One page of rooms, oldest first, optionally filtered by status (`GET /rooms`).
    ///
    /// ```no_run
    /// use chalk_sdk::model::{ListRoomsQuery, RoomStatus};
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let query = ListRoomsQuery { status: Some(RoomStatus::Active), ..Default::default() };
    /// let page = client.rooms().list(&query).await?;
    /// for room in &page.data {
    ///     println!("{} {} people", room.id, room.participant_count);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, query: &ListRoomsQuery) -> Result<Page<Room>> {
        self.client
            .call(Method::GET, &["rooms"])
            .query(query)
            .send()
            .await?
            .decode()
    }

    /// Every room, page after page; the first error ends the stream.
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let rooms: Vec<_> = client.rooms().list_all(Default::default()).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn list_all(
        &self,
        query: ListRoomsQuery,
    ) -> impl Stream<Item = Result<Room>> + Send + 'static {
        walk(self.client.clone(), vec!["rooms".to_owned()], query)
    }

    /// One room (`GET /rooms/{id}`). A participant token may read its own room.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let room = client.rooms().get("room_cs101").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, id: &str) -> Result<Room> {
        self.client.call(Method::GET, &["rooms", id]).data().await
    }

    /// Ends a room (`POST /rooms/{id}/end`); every participant token of it stops working.
    /// Ending an ended room changes nothing and returns it.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let room = client.rooms().end("room_cs101").await?;
    /// assert!(room.ended_at.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn end(&self, id: &str) -> Result<Room> {
        self.client
            .call(Method::POST, &["rooms", id, "end"])
            .data()
            .await
    }
}

/// A room's participants. Get one with [`Rooms::participants`].
#[derive(Debug, Clone)]
pub struct Participants<'c> {
    client: &'c Client,
    room_id: String,
}

impl Participants<'_> {
    /// Adds a participant and returns the tokens to hand to its browser
    /// (`POST /rooms/{id}/participants`). An unknown room is created when the tenant's
    /// `allow_early_join` is on. 409 `QUOTA_EXCEEDED` when the room is full; 409
    /// `CONFLICT` for a duplicate `user_id` under policy `reject`.
    ///
    /// ```no_run
    /// use chalk_sdk::model::{AddParticipantRequest, ParticipantRole};
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let request = AddParticipantRequest {
    ///     user_id: Some("user-42".into()),
    ///     ..AddParticipantRequest::new("Alice", ParticipantRole::Host)
    /// };
    /// let joined = client.rooms().participants("room_cs101").add(&request).await?;
    /// println!("{} {}", joined.participant.id, joined.access_token.expose());
    /// # Ok(()) }
    /// ```
    pub async fn add(&self, request: &AddParticipantRequest) -> Result<JoinedParticipant> {
        self.add_inner(request, None).await
    }

    /// [`add`](Self::add) with your own `Idempotency-Key`.
    ///
    /// ```no_run
    /// use chalk_sdk::model::{AddParticipantRequest, ParticipantRole};
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let request = AddParticipantRequest::new("Alice", ParticipantRole::Participant);
    /// let joined = client
    ///     .rooms()
    ///     .participants("room_cs101")
    ///     .add_with_idempotency_key(&request, "join-alice-1")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_with_idempotency_key(
        &self,
        request: &AddParticipantRequest,
        idempotency_key: impl Into<String>,
    ) -> Result<JoinedParticipant> {
        self.add_inner(request, Some(idempotency_key.into())).await
    }

    async fn add_inner(
        &self,
        request: &AddParticipantRequest,
        idempotency_key: Option<String>,
    ) -> Result<JoinedParticipant> {
        self.client
            .call(Method::POST, &["rooms", &self.room_id, "participants"])
            .idempotency_key(idempotency_key)
            .json(request)
            .data()
            .await
    }

    /// New tokens for a participant, with the client's `rooms:write` credential
    /// (`POST /rooms/{id}/participants/{pid}/token`); the earlier ones stop working.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let tokens = client.rooms().participants("room_cs101").token("part_abc").await?;
    /// # Ok(()) }
    /// ```
    pub async fn token(&self, participant_id: &str) -> Result<ParticipantTokens> {
        self.client
            .call(
                Method::POST,
                &[
                    "rooms",
                    &self.room_id,
                    "participants",
                    participant_id,
                    "token",
                ],
            )
            .data()
            .await
    }

    /// New tokens in exchange for the participant's single-use refresh token, sending no
    /// credential header (what a browser does on its own).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client, refresh: chalk_sdk::SecretString) -> chalk_sdk::Result<()> {
    /// let tokens = client.rooms().participants("room_cs101").refresh("part_abc", &refresh).await?;
    /// # Ok(()) }
    /// ```
    pub async fn refresh(
        &self,
        participant_id: &str,
        refresh_token: &SecretString,
    ) -> Result<ParticipantTokens> {
        self.client
            .call(
                Method::POST,
                &[
                    "rooms",
                    &self.room_id,
                    "participants",
                    participant_id,
                    "token",
                ],
            )
            .unauthenticated()
            .json(&ParticipantTokenRequest {
                refresh_token: Some(refresh_token.clone()),
            })
            .data()
            .await
    }

    /// Removes (kicks) a participant (`DELETE /rooms/{id}/participants/{pid}`); its tokens
    /// stop working.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// client.rooms().participants("room_cs101").remove("part_abc").await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove(&self, participant_id: &str) -> Result<Deleted> {
        self.client
            .call(
                Method::DELETE,
                &["rooms", &self.room_id, "participants", participant_id],
            )
            .data()
            .await
    }
}
