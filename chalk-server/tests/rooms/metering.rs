//! Usage metering's time metrics, exact to the second: a scripted day of joins, leaves and
//! room ends at chosen instants (the store takes the time of each change; the read takes
//! "now"), read back per hour and per day. Runs on the suite's store (SQLite, or
//! PostgreSQL under `CHALK_TEST_STORE=postgres`).

use std::sync::Arc;

use chalk_sdk::model::{DuplicateParticipantPolicy, ParticipantRole, TenantStatus, UsageMetrics};
use chalk_server::domain::usage::{parse_instant, parse_range, tenant_usage};
use chalk_server::store::*;

use crate::support::store::{StoreOps, fresh_store};

fn at(text: &str) -> i64 {
    parse_instant(text).unwrap().timestamp()
}

const TENANT: &str = "tenant_meter";

async fn given() -> (Arc<StoreOps>, Box<dyn std::any::Any + Send + Sync>) {
    let (store, guard) = fresh_store().await;
    let store = Arc::new(StoreOps(store));
    let created = at("2026-12-04T00:00:00Z");
    let row = TenantRow {
        seq: 0,
        id: TENANT.into(),
        name: "Meter".into(),
        email: None,
        external_id: Some("meter".into()),
        status: TenantStatus::Active,
        max_concurrent_rooms: 10,
        max_participants_per_room: 10,
        max_recording_duration_minutes: 120,
        rate_limit_per_minute: 1000,
        config: Default::default(),
        revision: 1,
        created_at: created,
        updated_at: created,
    };
    let key = NewApiKey {
        id: "key_meter".into(),
        tenant_id: TENANT.into(),
        name: "primary".into(),
        prefix: "sk_live_xxxx".into(),
        key_hash: "hash_meter".into(),
        scopes: vec![],
        primary: true,
        created_at: created,
        expires_at: None,
    };
    assert!(matches!(
        store.create_tenant(row, key).await.unwrap(),
        CreateTenantOutcome::Created(_)
    ));
    (store, guard)
}

/// The refresh-token lifetime of a participant that does not test its expiry.
const TTL: i64 = 30 * 86_400;

async fn join(store: &StoreOps, room: &str, id: &str, when: &str) {
    join_until(store, room, id, when, at(when) + TTL).await;
}

/// A join whose refresh token (the last minted for the participant, unless renewed)
/// expires at `tokens_expire_at`.
async fn join_until(store: &StoreOps, room: &str, id: &str, when: &str, tokens_expire_at: i64) {
    let joined_at = at(when);
    let outcome = store
        .add_participant(
            NewParticipant {
                id: id.into(),
                tenant_id: TENANT.into(),
                room_id: room.into(),
                user_id: None,
                display_name: id.into(),
                role: ParticipantRole::Participant,
                joined_at,
                tokens_expire_at,
            },
            JoinRules {
                allow_early_join: true,
                duplicate_policy: DuplicateParticipantPolicy::Reject,
                create_if_missing: Some(NewRoom {
                    id: room.into(),
                    tenant_id: TENANT.into(),
                    name: None,
                    scheduled_start: None,
                    max_participants: None,
                    created_at: joined_at,
                }),
            },
        )
        .await
        .unwrap();
    assert!(matches!(outcome, JoinOutcome::Joined { .. }), "{outcome:?}");
}

async fn leave(store: &StoreOps, room: &str, id: &str, when: &str) {
    assert!(
        store
            .remove_participant(TENANT, room, id, at(when))
            .await
            .unwrap()
    );
}

async fn end(store: &StoreOps, room: &str, when: &str) {
    assert!(matches!(
        store.end_room(TENANT, room, at(when)).await.unwrap(),
        EndRoomOutcome::Ended(_)
    ));
}

/// The tenant's usage per period of `[from, to)` as read at `now`.
async fn read(
    store: &StoreOps,
    from: &str,
    to: &str,
    granularity: &str,
    now: &str,
) -> Vec<UsageMetrics> {
    let range = parse_range(Some(from), Some(to), Some(granularity), at(now)).unwrap();
    let mut db = store.read().await.unwrap();
    let usage = tenant_usage(&mut db, TENANT, &range, at(now))
        .await
        .unwrap()
        .expect("the tenant is known");
    assert_eq!(usage.data.len(), range.periods.len());
    usage.data.into_iter().map(|p| p.metrics).collect()
}

fn hour(participant_seconds: i64, room_seconds: i64, peak: i64) -> UsageMetrics {
    UsageMetrics {
        participant_seconds,
        room_seconds,
        peak_participants: peak,
        ..UsageMetrics::default()
    }
}

fn counted(mut m: UsageMetrics, joined: i64, created: i64) -> UsageMetrics {
    m.participants_joined = joined;
    m.rooms_created = created;
    m
}

#[tokio::test]
async fn a_scripted_day_gives_the_exact_seconds_of_every_hour() {
    let (store, _guard) = given().await;
    let s = &*store;
    // Room A: p1 09:30–10:15, p2 from 09:45 until the room ends at 11:20 with p2 in it.
    join(s, "room_a", "p1", "2026-12-05T09:30:00Z").await;
    join(s, "room_a", "p2", "2026-12-05T09:45:00Z").await;
    leave(s, "room_a", "p1", "2026-12-05T10:15:00Z").await;
    // Room B: p3 from 11:00 until 01:00 the next day; p4 spans midnight, 23:30–00:30.
    join(s, "room_b", "p3", "2026-12-05T11:00:00Z").await;
    end(s, "room_a", "2026-12-05T11:20:00Z").await;
    join(s, "room_b", "p4", "2026-12-05T23:30:00Z").await;

    // At 00:10, with p3 and p4 still present, the hour in progress shows them although
    // nothing was written in it yet.
    let now = "2026-12-06T00:10:00Z";
    let live = read(
        s,
        "2026-12-06T00:00:00Z",
        "2026-12-06T01:00:00Z",
        "hour",
        now,
    )
    .await;
    assert_eq!(live, vec![hour(2 * 600, 600, 2)]);

    leave(s, "room_b", "p4", "2026-12-06T00:30:00Z").await;
    leave(s, "room_b", "p3", "2026-12-06T01:00:00Z").await;
    end(s, "room_b", "2026-12-06T02:00:00Z").await;

    let now = "2026-12-07T00:00:00Z";
    let hours = read(
        s,
        "2026-12-05T08:00:00Z",
        "2026-12-06T03:00:00Z",
        "hour",
        now,
    )
    .await;
    let mut expected = vec![
        hour(0, 0, 0),                                    // 08
        counted(hour(1800 + 900, 1800, 2), 2, 1),         // 09: p1 30 min, p2 15 min; A from 09:30
        hour(900 + 3600, 3600, 2),                        // 10: p1 until 10:15, p2 all hour
        counted(hour(1200 + 3600, 1200 + 3600, 2), 1, 1), // 11: p2 until A ends, p3; A, B
    ];
    expected.extend((12..23).map(|_| hour(3600, 3600, 1))); // 12–22: p3 alone in B
    expected.push(counted(hour(3600 + 1800, 3600, 2), 1, 0)); // 23: p4 from 23:30
    expected.push(hour(3600 + 1800, 3600, 2)); // 00: p4 until 00:30
    expected.push(hour(0, 3600, 0)); // 01: p3 left at 01:00; B empty until 02:00
    expected.push(hour(0, 0, 0)); // 02: B ended at 02:00
    assert_eq!(hours.len(), expected.len());
    for (i, (got, want)) in hours.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "hour {:02}", (8 + i) % 24);
    }

    // Days are the sums of their hours; the peak their maximum.
    let days = read(s, "2026-12-05", "2026-12-07", "day", now).await;
    let sum = |range: std::ops::Range<usize>| {
        expected[range]
            .iter()
            .fold(UsageMetrics::default(), |mut t, m| {
                t.absorb(m);
                t
            })
    };
    assert_eq!(days[0], sum(0..16));
    assert_eq!(days[1], sum(16..19));
    assert_eq!(
        days[0].participant_seconds,
        2700 + 4500 + 4800 + 11 * 3600 + 5400
    );
    assert_eq!(days[1].participant_seconds, 5400);
    assert_eq!(days[0].peak_participants, 2);
    // The month holds both days and nothing else.
    let month = read(s, "2026-12", "2027-01", "month", now).await;
    assert_eq!(month[0], sum(0..19));
}

#[tokio::test]
async fn a_participant_present_for_days_is_counted_in_every_hour_between() {
    let (store, _guard) = given().await;
    let s = &*store;
    join(s, "room_long", "p1", "2026-12-05T10:20:00Z").await;
    // Read while still present, two days later: every hour is full.
    let now = "2026-12-07T10:20:00Z";
    let days = read(s, "2026-12-05", "2026-12-08", "day", now).await;
    assert_eq!(days[0].participant_seconds, 13 * 3600 + 2400);
    assert_eq!(days[1].participant_seconds, 86_400);
    assert_eq!(days[2].participant_seconds, 10 * 3600 + 1200);
    assert!(days.iter().all(|d| d.peak_participants == 1));
    // The leave writes the hours it crossed: the participants' time reads the same from
    // the rows alone. (The room stays open, so its time keeps running.)
    leave(s, "room_long", "p1", now).await;
    let after = read(s, "2026-12-05", "2026-12-08", "day", "2026-12-09T00:00:00Z").await;
    let seconds = |d: &[UsageMetrics]| {
        d.iter()
            .map(|m| (m.participant_seconds, m.peak_participants))
            .collect::<Vec<_>>()
    };
    assert_eq!(seconds(&after), seconds(&days));
    assert_eq!(after[2].room_seconds, 86_400);
    let hours = read(
        s,
        "2026-12-06T05:00:00Z",
        "2026-12-06T07:00:00Z",
        "hour",
        "2026-12-09T00:00:00Z",
    )
    .await;
    assert_eq!(hours, vec![hour(3600, 3600, 1), hour(3600, 3600, 1)]);
}

#[tokio::test]
async fn days_and_months_are_the_sums_of_their_hours_across_a_new_year_with_counters() {
    let (store, _guard) = given().await;
    let s = &*store;
    // p1 spans the turn of the year; p2 joins on New Year's Day.
    join(s, "room_ny", "p1", "2026-12-31T23:30:00Z").await;
    join(s, "room_ny", "p2", "2027-01-01T00:10:00Z").await;
    leave(s, "room_ny", "p1", "2027-01-01T00:30:00Z").await;
    leave(s, "room_ny", "p2", "2027-01-01T02:00:00Z").await;
    // Request counters flushed in one batch over three hours, two days and two months.
    let counters = |api_requests| chalk_server::store::usage::Counters {
        api_requests,
        token_exchanges: 1,
        ..Default::default()
    };
    let batch = vec![
        (TENANT.to_owned(), at("2026-12-31T22:15:00Z"), counters(5)),
        (TENANT.to_owned(), at("2026-12-31T23:59:59Z"), counters(7)),
        (TENANT.to_owned(), at("2027-01-01T01:00:00Z"), counters(11)),
    ];
    let mut db = s.begin().await.unwrap();
    chalk_server::store::usage::add_counters(&mut db, &batch)
        .await
        .unwrap();
    db.commit().await.unwrap();

    let now = "2027-01-02T00:00:00Z";
    let hours = read(
        s,
        "2026-12-31T22:00:00Z",
        "2027-01-01T03:00:00Z",
        "hour",
        now,
    )
    .await;
    let with = |mut m: UsageMetrics, api: i64, joined: i64, created: i64| {
        m.api_requests = api;
        m.token_exchanges = i64::from(api > 0);
        counted(m, joined, created)
    };
    assert_eq!(
        hours,
        vec![
            with(hour(0, 0, 0), 5, 0, 0),              // 22
            with(hour(1800, 1800, 1), 7, 1, 1),        // 23: p1 from 23:30; the room starts
            with(hour(1800 + 3000, 3600, 2), 0, 1, 0), // 00: p1 until 00:30, p2 from 00:10
            with(hour(3600, 3600, 1), 11, 0, 0),       // 01: p2
            hour(0, 3600, 0),                          // 02: p2 left; the room waits, unended
        ]
    );
    let total = |ms: &[UsageMetrics]| {
        ms.iter().fold(UsageMetrics::default(), |mut t, m| {
            t.absorb(m);
            t
        })
    };
    let days = read(s, "2026-12-31", "2027-01-02", "day", now).await;
    assert_eq!(days[0], total(&hours[..2]));
    assert_eq!(
        (days[1].participant_seconds, days[1].peak_participants),
        (1800 + 3000 + 3600, 2)
    );
    assert_eq!((days[1].api_requests, days[1].token_exchanges), (11, 1));
    // The room ran from 23:30 until the read's end of day: every second of New Year's Day.
    assert_eq!(days[1].room_seconds, 86_400);
    let months = read(s, "2026-12", "2027-02", "month", now).await;
    assert_eq!(months[0], days[0]);
    assert_eq!(months[1], days[1]);
}

/// The statements `change` ran on the writer (`Faults::steps_taken`).
async fn statements<F: std::future::Future<Output = ()>>(store: &StoreOps, change: F) -> u64 {
    let before = store.faults().steps_taken();
    change.await;
    store.faults().steps_taken() - before
}

#[tokio::test]
async fn an_hours_changes_stay_on_the_tenant_row_until_a_later_hours_change_writes_them() {
    let (store, _guard) = given().await;
    let s = &*store;
    join(s, "room_a", "p1", "2026-12-05T10:00:00Z").await;
    // A join in the hour the meter stands in writes no period: one statement fewer than
    // the first change of the next hour, which writes the open hour out (one upsert of its
    // hour, day and month) and opens its own (one update of the tenant row).
    let within = statements(s, join(s, "room_a", "p2", "2026-12-05T10:10:00Z")).await;
    leave(s, "room_a", "p1", "2026-12-05T10:40:00Z").await;
    // 10:00 as the tenant row holds it, read before and after a later change wrote it out.
    let ten = counted(hour(2400 + 3000, 3600, 2), 2, 1);
    let before = read(
        s,
        "2026-12-05T10:00:00Z",
        "2026-12-05T12:00:00Z",
        "hour",
        "2026-12-05T11:00:00Z",
    )
    .await;
    assert_eq!(before, vec![ten, UsageMetrics::default()]);
    let days_before = read(s, "2026-12-05", "2026-12-06", "day", "2026-12-05T11:00:00Z").await;
    leave(s, "room_a", "p2", "2026-12-05T12:15:00Z").await;
    let after = read(
        s,
        "2026-12-05T10:00:00Z",
        "2026-12-05T13:00:00Z",
        "hour",
        "2026-12-05T13:00:00Z",
    )
    .await;
    // 11:00: p2 and the room the whole hour. 12:00: p2 until 12:15, the room (empty, not
    // ended) all of it, read at 13:00.
    assert_eq!(after, vec![ten, hour(3600, 3600, 1), hour(900, 3600, 1)]);
    let days_after = read(s, "2026-12-05", "2026-12-06", "day", "2026-12-05T13:00:00Z").await;
    assert_eq!(days_before, vec![ten]);
    assert_eq!(
        days_after,
        vec![counted(hour(5400 + 3600 + 900, 3 * 3600, 2), 2, 1)]
    );
    // The same join two hours after the meter's last change. Unlike the one measured
    // within the hour, which joined a running room, it joins a room empty since 12:15 and
    // wakes it: one statement more for the room (`participants::join`), two for the hour.
    let crossing = statements(s, join(s, "room_a", "p3", "2026-12-05T14:05:00Z")).await;
    assert_eq!(crossing, within + 1 + 2);
}

#[tokio::test]
async fn concurrent_joins_across_an_hours_turn_count_every_second_once() {
    let (store, _guard) = given().await;
    // Twenty joins at once (two rooms of ten), their clocks spread from 10:59:50 to
    // 11:00:09. They commit in whatever order the store takes them, each metered at its
    // own time or at the meter's, when a join with a later clock committed first
    // (`tenants::lock_at`); its row records that time. Half cross into 11:00, and the
    // first of those to commit writes 10:00 out while the others wait on the tenant's lock.
    let joins: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let when = if i < 10 {
                format!("2026-12-05T10:59:{}Z", 50 + i)
            } else {
                format!("2026-12-05T11:00:{:02}Z", i - 10)
            };
            let room = if i % 2 == 0 { "room_a" } else { "room_b" };
            tokio::spawn(async move { join(&store, room, &format!("p{i}"), &when).await })
        })
        .collect();
    for handle in joins {
        handle.await.unwrap();
    }
    let s = &*store;
    let mut joined = Vec::new();
    for i in 0..20 {
        let p = s.participant(&format!("p{i}")).await.unwrap().unwrap();
        joined.push((i % 2, p.joined_at));
    }
    let (ten, eleven, noon) = (
        at("2026-12-05T10:00:00Z"),
        at("2026-12-05T11:00:00Z"),
        at("2026-12-05T12:00:00Z"),
    );
    let hours = read(
        s,
        "2026-12-05T10:00:00Z",
        "2026-12-05T12:00:00Z",
        "hour",
        "2026-12-05T12:00:00Z",
    )
    .await;
    // Each participant from its recorded join to noon, each room from its first join.
    let seconds = |(from, to): (i64, i64)| -> i64 {
        joined.iter().map(|&(_, t)| (to - t.max(from)).max(0)).sum()
    };
    let room_seconds = |(from, to): (i64, i64)| -> i64 {
        [0, 1]
            .map(|room| {
                let start = joined
                    .iter()
                    .filter(|(r, _)| *r == room)
                    .map(|&(_, t)| t)
                    .min();
                (to - start.unwrap().max(from)).max(0)
            })
            .iter()
            .sum()
    };
    let before = joined.iter().filter(|&&(_, t)| t < eleven).count() as i64;
    assert_eq!(hours[0].participant_seconds, seconds((ten, eleven)));
    assert_eq!(hours[1].participant_seconds, seconds((eleven, noon)));
    assert_eq!(hours[0].room_seconds, room_seconds((ten, eleven)));
    assert_eq!(hours[1].room_seconds, room_seconds((eleven, noon)));
    assert_eq!(
        (hours[0].participants_joined, hours[1].participants_joined),
        (before, 20 - before)
    );
    assert_eq!(
        (hours[0].peak_participants, hours[1].peak_participants),
        (before, 20)
    );
    let day = read(s, "2026-12-05", "2026-12-06", "day", "2026-12-05T12:00:00Z").await;
    assert_eq!(day[0].participant_seconds, seconds((ten, noon)));
    assert_eq!(day[0].participants_joined, 20);
}

#[tokio::test]
async fn a_deleted_tenants_history_stays_until_purged() {
    let (store, _guard) = given().await;
    let s = &*store;
    join(s, "room_a", "p1", "2026-12-05T10:00:00Z").await;
    let mut db = s.begin().await.unwrap();
    // Deleted at 10:30 with p1 present: the half hour counts.
    assert!(
        usage::close(&mut db, TENANT, at("2026-12-05T10:30:00Z"))
            .await
            .unwrap()
    );
    assert!(tenants::delete(&mut db, TENANT).await.unwrap());
    db.commit().await.unwrap();
    let hours = read(
        s,
        "2026-12-05T10:00:00Z",
        "2026-12-05T11:00:00Z",
        "hour",
        "2026-12-06T00:00:00Z",
    )
    .await;
    assert_eq!(hours, vec![counted(hour(1800, 1800, 1), 1, 1)]);
    let mut db = s.begin().await.unwrap();
    assert_eq!(
        usage::purge(&mut db, TENANT).await.unwrap(),
        usage::PurgeOutcome::Purged
    );
    db.commit().await.unwrap();
    let mut db = s.read().await.unwrap();
    let range = parse_range(Some("2026-12-05"), Some("2026-12-06"), None, 0).unwrap();
    assert_eq!(
        tenant_usage(&mut db, TENANT, &range, at("2026-12-06T00:00:00Z"))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn room_time_starts_at_the_first_join_and_a_replacement_keeps_the_seat_filled() {
    let (store, _guard) = given().await;
    let s = &*store;
    // Created at 10:00 by POST /rooms, first joined at 10:30: its time starts at 10:30.
    let created = s
        .create_room(NewRoom {
            id: "room_r".into(),
            tenant_id: TENANT.into(),
            name: None,
            scheduled_start: None,
            max_participants: None,
            created_at: at("2026-12-05T10:00:00Z"),
        })
        .await
        .unwrap();
    assert!(matches!(created, CreateRoomOutcome::Created(_)));
    let same_user = |id: &str, when: &str| NewParticipant {
        id: id.into(),
        tenant_id: TENANT.into(),
        room_id: "room_r".into(),
        user_id: Some("u1".into()),
        display_name: id.into(),
        role: ParticipantRole::Participant,
        joined_at: at(when),
        tokens_expire_at: at(when) + TTL,
    };
    let rules = || JoinRules {
        allow_early_join: true,
        duplicate_policy: DuplicateParticipantPolicy::DisconnectExisting,
        create_if_missing: None,
    };
    let joined = s
        .add_participant(same_user("p1", "2026-12-05T10:30:00Z"), rules())
        .await
        .unwrap();
    assert!(matches!(joined, JoinOutcome::Joined { .. }));
    // The same user joins again at 10:40: p1 is let go, p2 takes the seat; one present.
    let joined = s
        .add_participant(same_user("p2", "2026-12-05T10:40:00Z"), rules())
        .await
        .unwrap();
    assert!(matches!(
        joined,
        JoinOutcome::Joined {
            replaced: Some(_),
            ..
        }
    ));
    // A room created and never joined moves no level when it ends.
    s.create_room(NewRoom {
        id: "room_never".into(),
        tenant_id: TENANT.into(),
        name: None,
        scheduled_start: None,
        max_participants: None,
        created_at: at("2026-12-05T10:45:00Z"),
    })
    .await
    .unwrap();
    end(s, "room_never", "2026-12-05T10:50:00Z").await;
    end(s, "room_r", "2026-12-05T11:00:00Z").await;
    let hours = read(
        s,
        "2026-12-05T10:00:00Z",
        "2026-12-05T12:00:00Z",
        "hour",
        "2026-12-06T00:00:00Z",
    )
    .await;
    assert_eq!(
        hours,
        vec![counted(hour(1800, 1800, 1), 2, 2), hour(0, 0, 0)],
        "one seat filled from 10:30 to 11:00 across the replacement"
    );
}

/// Ends the tenant's participants whose tokens had expired by `when`, as the room sweeper
/// does; returns their ids and the instants they left at.
async fn sweep(store: &StoreOps, when: &str) -> Vec<(String, i64)> {
    store
        .end_expired(TENANT, at(when))
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.id, p.left_at.expect("an ended participant has left")))
        .collect()
}

async fn left_at(store: &StoreOps, id: &str) -> Option<i64> {
    store.participant(id).await.unwrap().unwrap().left_at
}

#[tokio::test]
async fn a_participant_whose_tokens_expired_counts_exactly_up_to_the_expiry() {
    let (store, _guard) = given().await;
    let s = &*store;
    // p1's refresh token expires at 10:20 and is never renewed; p2 stays until 10:40, so
    // the meter runs past 10:20 with p1 still counted; the sweep comes at 11:05.
    join_until(
        s,
        "room_a",
        "p1",
        "2026-12-05T09:30:00Z",
        at("2026-12-05T10:20:00Z"),
    )
    .await;
    join(s, "room_a", "p2", "2026-12-05T09:40:00Z").await;
    // Not yet expired at 10:19:59.
    assert_eq!(sweep(s, "2026-12-05T10:19:59Z").await, vec![]);
    assert_eq!(left_at(s, "p1").await, None);
    leave(s, "room_a", "p2", "2026-12-05T10:40:00Z").await;

    let ended = sweep(s, "2026-12-05T11:05:00Z").await;
    assert_eq!(ended, vec![("p1".to_owned(), at("2026-12-05T10:20:00Z"))]);
    assert_eq!(left_at(s, "p1").await, Some(at("2026-12-05T10:20:00Z")));
    assert_eq!(
        s.tenant_usage(TENANT, at("2026-12-05T11:05:00Z"))
            .await
            .unwrap()
            .active_participants,
        0
    );
    // A second sweep finds nobody: the participant is ended, and its time taken back, once.
    assert_eq!(sweep(s, "2026-12-05T11:06:00Z").await, vec![]);
    end(s, "room_a", "2026-12-05T11:10:00Z").await;

    let hours = read(
        s,
        "2026-12-05T09:00:00Z",
        "2026-12-05T12:00:00Z",
        "hour",
        "2026-12-06T00:00:00Z",
    )
    .await;
    assert_eq!(
        hours,
        vec![
            // p1 30 min, p2 20 min; room A from 09:30.
            counted(hour(1800 + 1200, 1800, 2), 2, 1),
            // p1 until its expiry at 10:20, p2 until 10:40.
            hour(1200 + 2400, 3600, 2),
            // Nobody: the 45 minutes the meter counted p1 after its expiry are taken back
            // across the hour boundary. Room A (empty since 10:40) until its end at 11:10.
            // The peak is a maximum and stays as the sweep, 45 minutes late, wrote it.
            hour(0, 600, 1),
        ]
    );
    let day = read(s, "2026-12-05", "2026-12-06", "day", "2026-12-06T00:00:00Z").await;
    assert_eq!(day[0].participant_seconds, 3000 + 3600);
}

#[tokio::test]
async fn a_renewal_pushes_the_expiry_and_an_expired_participant_cannot_be_renewed() {
    let (store, _guard) = given().await;
    let s = &*store;
    join_until(
        s,
        "room_a",
        "p1",
        "2026-12-05T09:00:00Z",
        at("2026-12-05T10:00:00Z"),
    )
    .await;
    // Renewed at 09:50: its new refresh token expires at 10:50.
    let renewed = s
        .rotate_participant_tokens(
            TENANT,
            "room_a",
            "p1",
            None,
            at("2026-12-05T09:50:00Z"),
            at("2026-12-05T10:50:00Z"),
        )
        .await
        .unwrap();
    let RotateParticipantOutcome::Rotated(row) = renewed else {
        panic!("renewal refused: {renewed:?}")
    };
    assert_eq!(row.tokens_expire_at, Some(at("2026-12-05T10:50:00Z")));
    // Past the first token's expiry, not the renewed one's.
    assert_eq!(sweep(s, "2026-12-05T10:30:00Z").await, vec![]);
    assert_eq!(left_at(s, "p1").await, None);
    // At 10:55 its tokens have all expired: no renewal brings it back, by refresh token or
    // by the tenant, though the sweep has not written its leave yet.
    for generation in [Some(1), None] {
        assert_eq!(
            s.rotate_participant_tokens(
                TENANT,
                "room_a",
                "p1",
                generation,
                at("2026-12-05T10:55:00Z"),
                at("2026-12-05T11:55:00Z"),
            )
            .await
            .unwrap(),
            RotateParticipantOutcome::NotFound
        );
    }
    assert_eq!(
        sweep(s, "2026-12-05T11:00:00Z").await,
        vec![("p1".to_owned(), at("2026-12-05T10:50:00Z"))]
    );
    let hours = read(
        s,
        "2026-12-05T09:00:00Z",
        "2026-12-05T12:00:00Z",
        "hour",
        "2026-12-06T00:00:00Z",
    )
    .await;
    let participant_seconds: Vec<i64> = hours.iter().map(|h| h.participant_seconds).collect();
    assert_eq!(participant_seconds, vec![3600, 3000, 0]);
}

#[tokio::test]
async fn a_participant_that_left_before_its_expiry_is_untouched_by_the_sweep() {
    let (store, _guard) = given().await;
    let s = &*store;
    join_until(
        s,
        "room_a",
        "p1",
        "2026-12-05T09:00:00Z",
        at("2026-12-05T10:00:00Z"),
    )
    .await;
    join_until(
        s,
        "room_a",
        "p2",
        "2026-12-05T09:10:00Z",
        at("2026-12-05T10:30:00Z"),
    )
    .await;
    leave(s, "room_a", "p1", "2026-12-05T09:30:00Z").await;
    // Both refresh tokens have expired by 11:00; only p2 was still present.
    assert_eq!(
        sweep(s, "2026-12-05T11:00:00Z").await,
        vec![("p2".to_owned(), at("2026-12-05T10:30:00Z"))]
    );
    assert_eq!(left_at(s, "p1").await, Some(at("2026-12-05T09:30:00Z")));
    // The room, left empty by the expiry, waits for the empty-room sweeper from 10:30.
    let room = s.get_room(TENANT, "room_a").await.unwrap().unwrap();
    assert_eq!(room.empty_since, Some(at("2026-12-05T10:30:00Z")));
    assert_eq!(room.ended_at, None);
    let hours = read(
        s,
        "2026-12-05T09:00:00Z",
        "2026-12-05T11:00:00Z",
        "hour",
        "2026-12-05T11:00:00Z",
    )
    .await;
    let participant_seconds: Vec<i64> = hours.iter().map(|h| h.participant_seconds).collect();
    assert_eq!(participant_seconds, vec![1800 + 3000, 1800]);
}

#[tokio::test]
async fn concurrent_sweeps_end_an_expired_participant_once_and_take_its_time_back_once() {
    let (store, _guard) = given().await;
    let s = &*store;
    join_until(
        s,
        "room_a",
        "p1",
        "2026-12-05T09:30:00Z",
        at("2026-12-05T10:20:00Z"),
    )
    .await;
    join(s, "room_a", "p2", "2026-12-05T09:40:00Z").await;
    // Two sweepers at once (two connections on PostgreSQL, as two instances would be),
    // each sure p1 is due, one of them a minute later.
    let sweeps: Vec<_> = ["2026-12-05T11:05:00Z", "2026-12-05T11:06:00Z"]
        .into_iter()
        .map(|when| {
            let store = store.clone();
            tokio::spawn(async move { sweep(&store, when).await })
        })
        .collect();
    let mut ended = Vec::new();
    for handle in sweeps {
        ended.extend(handle.await.unwrap());
    }
    assert_eq!(ended, vec![("p1".to_owned(), at("2026-12-05T10:20:00Z"))]);
    leave(s, "room_a", "p2", "2026-12-05T11:30:00Z").await;
    let hours = read(
        s,
        "2026-12-05T09:00:00Z",
        "2026-12-05T12:00:00Z",
        "hour",
        "2026-12-06T00:00:00Z",
    )
    .await;
    let participant_seconds: Vec<i64> = hours.iter().map(|h| h.participant_seconds).collect();
    // p1 09:30–10:20, p2 09:40–11:30.
    assert_eq!(participant_seconds, vec![1800 + 1200, 1200 + 3600, 1800]);
}

#[tokio::test]
async fn participants_from_before_expiry_was_recorded_end_by_the_bound_given_at_start_up() {
    let (store, _guard) = given().await;
    let s = &*store;
    join(s, "room_a", "p_old", "2026-12-05T09:00:00Z").await;
    join(s, "room_a", "p_gone", "2026-12-05T09:00:00Z").await;
    leave(s, "room_a", "p_gone", "2026-12-05T09:30:00Z").await;
    // As migration 0011 leaves rows it cannot know the expiry of.
    let mut db = s.begin().await.unwrap();
    sqlx::query("UPDATE participants SET tokens_expire_at = NULL")
        .execute(db.conn().unwrap())
        .await
        .unwrap();
    db.commit().await.unwrap();
    // Without a bound nobody is ended by expiry, however late.
    assert_eq!(sweep(s, "2027-12-05T00:00:00Z").await, vec![]);
    // Start-up bounds the present ones (now plus the refresh-token lifetime); the gone stay
    // as they were.
    let mut db = s.begin().await.unwrap();
    let bounded = participants::bound_unknown_expiry(&mut db, at("2026-12-05T12:00:00Z"))
        .await
        .unwrap();
    db.commit().await.unwrap();
    assert_eq!(bounded, 1);
    let gone = s.participant("p_gone").await.unwrap().unwrap();
    assert_eq!(gone.tokens_expire_at, None);
    assert_eq!(gone.left_at, Some(at("2026-12-05T09:30:00Z")));
    assert_eq!(sweep(s, "2026-12-05T11:59:59Z").await, vec![]);
    assert_eq!(
        sweep(s, "2026-12-05T12:00:00Z").await,
        vec![("p_old".to_owned(), at("2026-12-05T12:00:00Z"))]
    );
}
