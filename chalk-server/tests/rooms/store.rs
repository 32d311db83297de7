//! The store's room and participant invariants, written once for any backend: they run
//! from `tests/store_conformance.rs` on SQLite and PostgreSQL.

use crate::support::store::StoreOps;
use chalk_sdk::model::{DuplicateParticipantPolicy, ParticipantRole, RoomStatus, TenantStatus};
use chalk_server::store::*;
use std::sync::Arc;

/// The store under test.
struct Given {
    store: Arc<StoreOps>,
}

const NOW: i64 = 1_800_000_000;
/// The refresh-token lifetime the participants here are given.
const TTL: i64 = 2_592_000;

async fn tenant(store: &StoreOps, id: &str, max_rooms: i64, max_participants: i64) {
    let row = TenantRow {
        seq: 0,
        id: id.into(),
        name: id.into(),
        email: None,
        external_id: None,
        status: TenantStatus::Active,
        max_concurrent_rooms: max_rooms,
        max_participants_per_room: max_participants,
        max_recording_duration_minutes: 120,
        rate_limit_per_minute: 1000,
        config: Default::default(),
        revision: 1,
        created_at: NOW,
        updated_at: NOW,
    };
    let key = NewApiKey {
        id: format!("key_{id}"),
        tenant_id: id.into(),
        name: "primary".into(),
        prefix: "sk_live_xxxx".into(),
        key_hash: format!("hash_{id}"),
        scopes: vec![],
        primary: true,
        created_at: NOW,
        expires_at: None,
    };
    assert!(matches!(
        store.create_tenant(row, key).await.unwrap(),
        CreateTenantOutcome::Created(_)
    ));
}

/// Awaits every task, in order.
pub async fn join_all<T>(
    tasks: impl IntoIterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut results = Vec::new();
    for task in tasks.into_iter().collect::<Vec<_>>() {
        results.push(task.await);
    }
    results
}

fn room(tenant: &str, id: &str) -> NewRoom {
    NewRoom {
        id: id.into(),
        tenant_id: tenant.into(),
        name: None,
        scheduled_start: None,
        max_participants: None,
        created_at: NOW,
    }
}

fn person(tenant: &str, room: &str, id: &str, user: Option<&str>) -> NewParticipant {
    NewParticipant {
        id: id.into(),
        tenant_id: tenant.into(),
        room_id: room.into(),
        user_id: user.map(str::to_owned),
        display_name: id.into(),
        role: ParticipantRole::Participant,
        joined_at: NOW + 10,
        tokens_expire_at: NOW + 10 + TTL,
    }
}

fn rules(policy: DuplicateParticipantPolicy) -> JoinRules {
    JoinRules {
        allow_early_join: true,
        duplicate_policy: policy,
        create_if_missing: None,
    }
}

pub async fn room_quota_counts_open_rooms_only_and_ids_are_unique_per_tenant(store: Arc<StoreOps>) {
    let t = Given { store };
    let s = &*t.store;
    tenant(s, "tenant_a", 2, 10).await;
    tenant(s, "tenant_b", 2, 10).await;
    assert!(matches!(
        s.create_room(room("tenant_a", "room_1")).await.unwrap(),
        CreateRoomOutcome::Created(_)
    ));
    assert_eq!(
        s.create_room(room("tenant_a", "room_1")).await.unwrap(),
        CreateRoomOutcome::IdTaken
    );
    // Another tenant may use the same id.
    assert!(matches!(
        s.create_room(room("tenant_b", "room_1")).await.unwrap(),
        CreateRoomOutcome::Created(_)
    ));
    assert!(matches!(
        s.create_room(room("tenant_a", "room_2")).await.unwrap(),
        CreateRoomOutcome::Created(_)
    ));
    assert_eq!(
        s.create_room(room("tenant_a", "room_3")).await.unwrap(),
        CreateRoomOutcome::QuotaExceeded { limit: 2 }
    );
    assert!(matches!(
        s.end_room("tenant_a", "room_1", NOW + 5).await.unwrap(),
        EndRoomOutcome::Ended(_)
    ));
    assert!(matches!(
        s.end_room("tenant_a", "room_1", NOW + 6).await.unwrap(),
        EndRoomOutcome::AlreadyEnded(_)
    ));
    assert!(matches!(
        s.create_room(room("tenant_a", "room_3")).await.unwrap(),
        CreateRoomOutcome::Created(_)
    ));
    assert_eq!(
        s.create_room(room("tenant_x", "room_9")).await.unwrap(),
        CreateRoomOutcome::TenantNotFound
    );
    let usage = s.tenant_usage("tenant_a", NOW).await.unwrap();
    assert_eq!((usage.active_rooms, usage.total_rooms), (2, 3));
    let ended = s
        .list_rooms("tenant_a", Some(RoomStatus::Ended), NOW, 0, 10)
        .await
        .unwrap();
    assert_eq!(
        ended.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["room_1"]
    );
    let active = s
        .list_rooms("tenant_a", Some(RoomStatus::Active), NOW, 0, 10)
        .await
        .unwrap();
    assert_eq!(active.len(), 2);
}

pub async fn concurrent_joins_and_creates_never_pass_the_limits(store: Arc<StoreOps>) {
    let t = Given { store };
    tenant(&t.store, "tenant_a", 5, 25).await;
    assert!(matches!(
        t.store
            .create_room(room("tenant_a", "room_big"))
            .await
            .unwrap(),
        CreateRoomOutcome::Created(_)
    ));
    let joins = (0..100).map(|i| {
        let store = t.store.clone();
        tokio::spawn(async move {
            store
                .add_participant(
                    person("tenant_a", "room_big", &format!("part_{i}"), None),
                    rules(DuplicateParticipantPolicy::Reject),
                )
                .await
                .unwrap()
        })
    });
    let outcomes = join_all(joins).await;
    let joined = outcomes
        .iter()
        .filter(|o| matches!(o.as_ref().unwrap(), JoinOutcome::Joined { .. }))
        .count();
    let full = outcomes
        .iter()
        .filter(|o| matches!(o.as_ref().unwrap(), JoinOutcome::RoomFull { limit: 25 }))
        .count();
    assert_eq!((joined, full), (25, 75));
    let big = t
        .store
        .get_room("tenant_a", "room_big")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(big.participant_count, 25);

    let creates = (0..20).map(|i| {
        let store = t.store.clone();
        tokio::spawn(async move {
            store
                .create_room(room("tenant_a", &format!("room_c{i}")))
                .await
                .unwrap()
        })
    });
    let outcomes = join_all(creates).await;
    let created = outcomes
        .iter()
        .filter(|o| matches!(o.as_ref().unwrap(), CreateRoomOutcome::Created(_)))
        .count();
    assert_eq!(created, 4, "one room was open already; the limit is 5");
    assert_eq!(
        t.store
            .tenant_usage("tenant_a", NOW)
            .await
            .unwrap()
            .active_rooms,
        5
    );
}

pub async fn duplicate_users_tokens_and_emptiness(store: Arc<StoreOps>) {
    let t = Given { store };
    let s = &*t.store;
    tenant(s, "tenant_a", 5, 2).await;
    assert!(matches!(
        s.create_room(room("tenant_a", "room_r")).await.unwrap(),
        CreateRoomOutcome::Created(_)
    ));
    assert_eq!(
        s.get_room("tenant_a", "room_r")
            .await
            .unwrap()
            .unwrap()
            .empty_since,
        Some(NOW)
    );
    let JoinOutcome::Joined {
        participant: first,
        room,
        ..
    } = s
        .add_participant(
            person("tenant_a", "room_r", "part_1", Some("u1")),
            rules(DuplicateParticipantPolicy::Reject),
        )
        .await
        .unwrap()
    else {
        panic!("first join refused")
    };
    assert_eq!((room.participant_count, room.empty_since), (1, None));
    assert_eq!(
        s.add_participant(
            person("tenant_a", "room_r", "part_2", Some("u1")),
            rules(DuplicateParticipantPolicy::Reject)
        )
        .await
        .unwrap(),
        JoinOutcome::DuplicateUser {
            existing: "part_1".into()
        }
    );
    let JoinOutcome::Joined { replaced, room, .. } = s
        .add_participant(
            person("tenant_a", "room_r", "part_3", Some("u1")),
            rules(DuplicateParticipantPolicy::DisconnectExisting),
        )
        .await
        .unwrap()
    else {
        panic!("replacement refused")
    };
    assert_eq!(replaced.as_deref(), Some("part_1"));
    assert_eq!(room.participant_count, 1);
    let old = s.participant_auth("part_1").await.unwrap().unwrap();
    assert!(!old.accepts("tenant_a", "room_r", first.token_generation));

    // Compare-and-set refresh: one winner.
    let RotateParticipantOutcome::Rotated(rotated) = s
        .rotate_participant_tokens(
            "tenant_a",
            "room_r",
            "part_3",
            Some(0),
            NOW + 20,
            NOW + 20 + TTL,
        )
        .await
        .unwrap()
    else {
        panic!("rotation refused")
    };
    assert_eq!(rotated.token_generation, 1);
    assert_eq!(
        s.rotate_participant_tokens(
            "tenant_a",
            "room_r",
            "part_3",
            Some(0),
            NOW + 20,
            NOW + 20 + TTL
        )
        .await
        .unwrap(),
        RotateParticipantOutcome::Stale
    );
    assert_eq!(
        s.rotate_participant_tokens(
            "tenant_b",
            "room_r",
            "part_3",
            None,
            NOW + 20,
            NOW + 20 + TTL
        )
        .await
        .unwrap(),
        RotateParticipantOutcome::NotFound
    );

    assert!(
        s.remove_participant("tenant_a", "room_r", "part_3", NOW + 100)
            .await
            .unwrap()
    );
    assert!(
        !s.remove_participant("tenant_a", "room_r", "part_3", NOW + 100)
            .await
            .unwrap()
    );
    let room = s.get_room("tenant_a", "room_r").await.unwrap().unwrap();
    assert_eq!(
        (room.participant_count, room.empty_since),
        (0, Some(NOW + 100))
    );
    let empty = s.empty_rooms(NOW + 100, 0, 10).await.unwrap();
    assert_eq!(empty.len(), 1);
    assert!(
        !s.end_room_if_empty_since("tenant_a", "room_r", NOW, NOW + 200)
            .await
            .unwrap()
    );
    assert!(
        s.end_room_if_empty_since("tenant_a", "room_r", NOW + 100, NOW + 200)
            .await
            .unwrap()
    );
    assert_eq!(
        s.get_room("tenant_a", "room_r")
            .await
            .unwrap()
            .unwrap()
            .status_at(NOW),
        RoomStatus::Ended
    );
    assert_eq!(
        s.add_participant(
            person("tenant_a", "room_r", "part_4", None),
            rules(DuplicateParticipantPolicy::Reject)
        )
        .await
        .unwrap(),
        JoinOutcome::RoomEnded
    );

    // Deleting the tenant takes its rooms and participants with it.
    assert!(s.delete_tenant("tenant_a").await.unwrap());
    assert!(s.get_room("tenant_a", "room_r").await.unwrap().is_none());
    assert!(s.participant_auth("part_1").await.unwrap().is_none());
}

pub async fn unknown_rooms_are_created_on_join_only_with_early_join_and_within_quota(
    store: Arc<StoreOps>,
) {
    let t = Given { store };
    let s = &*t.store;
    tenant(s, "tenant_a", 1, 10).await;
    let mut join_rules = rules(DuplicateParticipantPolicy::Reject);
    join_rules.create_if_missing = Some(room("tenant_a", "room_new"));
    join_rules.allow_early_join = false;
    assert_eq!(
        s.add_participant(
            person("tenant_a", "room_new", "part_1", None),
            join_rules.clone()
        )
        .await
        .unwrap(),
        JoinOutcome::RoomNotFound
    );
    join_rules.allow_early_join = true;
    let JoinOutcome::Joined { created_room, .. } = s
        .add_participant(person("tenant_a", "room_new", "part_1", None), join_rules)
        .await
        .unwrap()
    else {
        panic!("join refused")
    };
    assert!(created_room);
    let mut other = rules(DuplicateParticipantPolicy::Reject);
    other.create_if_missing = Some(room("tenant_a", "room_other"));
    assert_eq!(
        s.add_participant(person("tenant_a", "room_other", "part_2", None), other)
            .await
            .unwrap(),
        JoinOutcome::RoomQuotaExceeded { limit: 1 }
    );

    // A scheduled room: early join only when allowed.
    tenant(s, "tenant_s", 5, 10).await;
    let mut scheduled = room("tenant_s", "room_later");
    scheduled.scheduled_start = Some(NOW + 3600);
    assert!(matches!(
        s.create_room(scheduled).await.unwrap(),
        CreateRoomOutcome::Created(_)
    ));
    let row = s.get_room("tenant_s", "room_later").await.unwrap().unwrap();
    assert_eq!(
        (row.status_at(NOW), row.empty_since),
        (RoomStatus::Scheduled, Some(NOW + 3600))
    );
    let mut strict = rules(DuplicateParticipantPolicy::Reject);
    strict.allow_early_join = false;
    assert_eq!(
        s.add_participant(person("tenant_s", "room_later", "part_3", None), strict)
            .await
            .unwrap(),
        JoinOutcome::NotStarted {
            scheduled_start: NOW + 3600
        }
    );
    assert!(matches!(
        s.add_participant(
            person("tenant_s", "room_later", "part_3", None),
            rules(DuplicateParticipantPolicy::Reject)
        )
        .await
        .unwrap(),
        JoinOutcome::Joined { .. }
    ));
    assert_eq!(
        s.get_room("tenant_s", "room_later")
            .await
            .unwrap()
            .unwrap()
            .status_at(NOW),
        RoomStatus::Active
    );
    assert!(
        s.remove_participant("tenant_s", "room_later", "part_3", NOW + 20)
            .await
            .unwrap()
    );
    assert_eq!(
        s.get_room("tenant_s", "room_later")
            .await
            .unwrap()
            .unwrap()
            .empty_since,
        Some(NOW + 3600)
    );
}

/// A join into a running room leaves the room as it is; a join into a room waiting empty
/// wakes it, so the empty-room sweep no longer ends it (`participants::join` writes the
/// room only when the join starts or wakes it).
pub async fn a_join_wakes_a_room_waiting_empty_and_leaves_a_running_one(store: Arc<StoreOps>) {
    let t = Given { store };
    let s = &*t.store;
    tenant(s, "tenant_a", 5, 5).await;
    assert!(matches!(
        s.create_room(room("tenant_a", "room_r")).await.unwrap(),
        CreateRoomOutcome::Created(_)
    ));
    let join = |id: &'static str| {
        s.add_participant(
            person("tenant_a", "room_r", id, None),
            rules(DuplicateParticipantPolicy::Reject),
        )
    };
    let joined_room = |outcome: JoinOutcome| match outcome {
        JoinOutcome::Joined { room, .. } => *room,
        _ => panic!("join refused"),
    };
    // Started by its first join; the second joins it running.
    let first = joined_room(join("part_1").await.unwrap());
    assert_eq!(
        (first.status, first.participant_count, first.empty_since),
        (RoomStatus::Active, 1, None)
    );
    let second = joined_room(join("part_2").await.unwrap());
    assert_eq!(
        (second.status, second.participant_count, second.empty_since),
        (RoomStatus::Active, 2, None)
    );
    // Both leave: the room waits empty from the last leave.
    for id in ["part_1", "part_2"] {
        assert!(
            s.remove_participant("tenant_a", "room_r", id, NOW + 100)
                .await
                .unwrap()
        );
    }
    let waiting = s.get_room("tenant_a", "room_r").await.unwrap().unwrap();
    assert_eq!(
        (waiting.participant_count, waiting.empty_since),
        (0, Some(NOW + 100))
    );
    // A join wakes it: in what the join answers, in the store, and for the sweep.
    let woken = joined_room(join("part_3").await.unwrap());
    assert_eq!(
        (woken.status, woken.participant_count, woken.empty_since),
        (RoomStatus::Active, 1, None)
    );
    let stored = s.get_room("tenant_a", "room_r").await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.participant_count, stored.empty_since),
        (RoomStatus::Active, 1, None)
    );
    assert!(s.empty_rooms(NOW + 200, 0, 10).await.unwrap().is_empty());
    assert!(
        !s.end_room_if_empty_since("tenant_a", "room_r", NOW + 100, NOW + 200)
            .await
            .unwrap()
    );
}
