//! One store conformance suite, run against every backend: SQLite always, PostgreSQL
//! when `CHALK_TEST_POSTGRES_URL` is set (each test on a fresh schema).
//!
//! To add a test: write `async fn name(store: Arc<StoreOps>)` below and list it in the
//! `conformance!` invocation at the end; it then runs on both backends.

mod support;

#[path = "rooms/store.rs"]
mod rooms_store;
use rooms_store::{
    a_join_wakes_a_room_waiting_empty_and_leaves_a_running_one,
    concurrent_joins_and_creates_never_pass_the_limits, duplicate_users_tokens_and_emptiness,
    room_quota_counts_open_rooms_only_and_ids_are_unique_per_tenant,
    unknown_rooms_are_created_on_join_only_with_early_join_and_within_quota,
};

use chalk_sdk::model::{Scope, TenantStatus};
use chalk_server::store::*;
use std::sync::Arc;
use support::store::StoreOps;

const NOW: Timestamp = 1_800_000_000;

fn random_id(prefix: &str) -> String {
    format!("{prefix}_{:016x}", rand::random::<u64>())
}

fn tenant(id: &str, email: Option<&str>) -> TenantRow {
    TenantRow {
        seq: 0,
        id: id.to_owned(),
        name: format!("Tenant {id}"),
        email: email.map(str::to_owned),
        external_id: None,
        status: TenantStatus::Active,
        max_concurrent_rooms: 10,
        max_participants_per_room: 100,
        max_recording_duration_minutes: 120,
        rate_limit_per_minute: 1000,
        config: Default::default(),
        revision: 1,
        created_at: NOW,
        updated_at: NOW,
    }
}

fn key(tenant_id: &str, primary: bool) -> NewApiKey {
    let id = random_id("key");
    NewApiKey {
        key_hash: format!("hash-{id}"),
        id,
        tenant_id: tenant_id.to_owned(),
        name: "k".to_owned(),
        prefix: "sk_live_abcd".to_owned(),
        scopes: vec![Scope::TenantRead, Scope::RoomsWrite],
        primary,
        created_at: NOW,
        expires_at: None,
    }
}

/// A tenant with its primary key; returns (tenant id, primary key).
async fn new_tenant(store: &Arc<StoreOps>) -> (String, NewApiKey) {
    let id = random_id("tn");
    let primary = key(&id, true);
    match store
        .create_tenant(tenant(&id, None), primary.clone())
        .await
        .unwrap()
    {
        CreateTenantOutcome::Created(_) => (id, primary),
        other => panic!("{other:?}"),
    }
}

fn token(tenant_id: &str, key_id: &str, family: &str) -> NewRefreshToken {
    NewRefreshToken {
        token_hash: random_id("rt"),
        family_id: family.to_owned(),
        tenant_id: tenant_id.to_owned(),
        key_id: key_id.to_owned(),
        created_at: NOW,
        expires_at: NOW + 3600,
    }
}

async fn primaries(store: &Arc<StoreOps>, tenant_id: &str) -> Vec<ApiKeyRow> {
    store
        .list_api_keys(tenant_id, NOW, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.primary)
        .collect()
}

async fn tenants_create_read_list_update_delete(store: Arc<StoreOps>) {
    let id = random_id("tn");
    let email = format!("{id}@Example.edu");
    let created = match store
        .create_tenant(tenant(&id, Some(&email)), key(&id, true))
        .await
        .unwrap()
    {
        CreateTenantOutcome::Created(row) => row,
        other => panic!("{other:?}"),
    };
    assert_eq!(created.id, id);
    assert_eq!(created.revision, 1);
    let other = random_id("tn");
    assert_eq!(
        store
            .create_tenant(
                tenant(&other, Some(&email.to_uppercase())),
                key(&other, true)
            )
            .await
            .unwrap(),
        CreateTenantOutcome::EmailTaken,
        "emails are unique regardless of case"
    );
    assert_eq!(
        store.get_tenant(&other).await.unwrap(),
        None,
        "nothing of it was kept"
    );
    assert_eq!(store.get_tenant(&id).await.unwrap().unwrap(), *created);

    let (second, _) = new_tenant(&store).await;
    let page = store
        .list_tenants(&TenantFilter::default(), created.seq - 1, 2)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [id.as_str(), second.as_str()]
    );

    let change = TenantChange {
        name: Some("Renamed".into()),
        status: Some(TenantStatus::Suspended),
        email: Some(None),
        ..TenantChange::default()
    };
    let updated = match store
        .update_tenant(&id, Some(1), change.clone(), NOW + 5)
        .await
        .unwrap()
    {
        UpdateOutcome::Updated(row) => row,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (
            updated.name.as_str(),
            updated.status,
            updated.email.as_deref(),
            updated.revision,
            updated.updated_at
        ),
        ("Renamed", TenantStatus::Suspended, None, 2, NOW + 5)
    );
    assert_eq!(
        store
            .update_tenant(&id, Some(1), change.clone(), NOW)
            .await
            .unwrap(),
        UpdateOutcome::Stale
    );
    assert_eq!(
        store
            .update_tenant("tn_missing", None, change, NOW)
            .await
            .unwrap(),
        UpdateOutcome::NotFound
    );
    let suspended = store
        .list_tenants(
            &TenantFilter {
                status: Some(TenantStatus::Suspended),
                ..TenantFilter::default()
            },
            0,
            1000,
        )
        .await
        .unwrap();
    assert!(suspended.iter().any(|t| t.id == id));
    assert!(
        suspended
            .iter()
            .all(|t| t.status == TenantStatus::Suspended)
    );

    let taken_email = format!("{second}@example.edu");
    store
        .update_tenant(
            &second,
            None,
            TenantChange {
                email: Some(Some(taken_email.clone())),
                ..TenantChange::default()
            },
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .update_tenant(
                &id,
                None,
                TenantChange {
                    email: Some(Some(taken_email)),
                    ..TenantChange::default()
                },
                NOW
            )
            .await
            .unwrap(),
        UpdateOutcome::EmailTaken
    );

    let extra = store.create_api_key(key(&id, false)).await.unwrap();
    assert!(store.delete_tenant(&id).await.unwrap());
    assert!(!store.delete_tenant(&id).await.unwrap());
    assert_eq!(store.get_tenant(&id).await.unwrap(), None);
    assert_eq!(
        store.key_by_id(&extra.id).await.unwrap(),
        None,
        "keys go with the tenant"
    );
}

async fn by_external_id(store: &Arc<StoreOps>, external_id: &str) -> Vec<String> {
    let filter = TenantFilter {
        external_id: Some(external_id.to_owned()),
        ..TenantFilter::default()
    };
    store
        .list_tenants(&filter, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect()
}

async fn external_ids_are_unique_when_set_and_filter_the_list(store: Arc<StoreOps>) {
    let external_id = random_id("ext");
    let id = random_id("tn");
    let created = match store
        .create_tenant(
            TenantRow {
                external_id: Some(external_id.clone()),
                ..tenant(&id, Some(&format!("{id}@example.edu")))
            },
            key(&id, true),
        )
        .await
        .unwrap()
    {
        CreateTenantOutcome::Created(row) => row,
        other => panic!("{other:?}"),
    };
    assert_eq!(created.external_id.as_deref(), Some(external_id.as_str()));
    assert_eq!(
        store.get_tenant(&id).await.unwrap().unwrap().external_id,
        Some(external_id.clone())
    );

    // A second tenant with the same external id (and a free email) is refused as such,
    // and leaves nothing behind.
    let other = random_id("tn");
    assert_eq!(
        store
            .create_tenant(
                TenantRow {
                    external_id: Some(external_id.clone()),
                    ..tenant(&other, Some(&format!("{other}@example.edu")))
                },
                key(&other, true),
            )
            .await
            .unwrap(),
        CreateTenantOutcome::ExternalIdTaken
    );
    assert_eq!(store.get_tenant(&other).await.unwrap(), None);
    // A taken email is still told apart from a taken external id.
    assert_eq!(
        store
            .create_tenant(
                TenantRow {
                    external_id: Some(random_id("ext")),
                    ..tenant(&other, Some(&format!("{id}@example.edu")))
                },
                key(&other, true),
            )
            .await
            .unwrap(),
        CreateTenantOutcome::EmailTaken
    );

    // Many tenants may have none.
    let (second, _) = new_tenant(&store).await;
    let (third, _) = new_tenant(&store).await;
    assert_eq!(
        store.get_tenant(&third).await.unwrap().unwrap().external_id,
        None
    );

    assert_eq!(by_external_id(&store, &external_id).await, [id.as_str()]);
    assert!(by_external_id(&store, "nobody-has-this").await.is_empty());
    // The filter combines with the status filter.
    let suspended_filter = TenantFilter {
        status: Some(TenantStatus::Suspended),
        external_id: Some(external_id.clone()),
    };
    assert!(
        store
            .list_tenants(&suspended_filter, 0, 1000)
            .await
            .unwrap()
            .is_empty(),
        "the tenant is active, not suspended"
    );

    // Taking it by update is refused as such and changes nothing.
    let take = TenantChange {
        external_id: Some(Some(external_id.clone())),
        ..TenantChange::default()
    };
    assert_eq!(
        store
            .update_tenant(&second, None, take.clone(), NOW + 1)
            .await
            .unwrap(),
        UpdateOutcome::ExternalIdTaken
    );
    let unchanged = store.get_tenant(&second).await.unwrap().unwrap();
    assert_eq!((unchanged.external_id, unchanged.revision), (None, 1));

    // Clearing frees it; an update that does not name it leaves it alone.
    let cleared = match store
        .update_tenant(
            &id,
            Some(1),
            TenantChange {
                external_id: Some(None),
                ..TenantChange::default()
            },
            NOW + 2,
        )
        .await
        .unwrap()
    {
        UpdateOutcome::Updated(row) => row,
        other => panic!("{other:?}"),
    };
    assert_eq!((cleared.external_id, cleared.revision), (None, 2));
    assert!(by_external_id(&store, &external_id).await.is_empty());
    let moved = match store
        .update_tenant(&second, None, take, NOW + 3)
        .await
        .unwrap()
    {
        UpdateOutcome::Updated(row) => row,
        other => panic!("{other:?}"),
    };
    assert_eq!(moved.external_id.as_deref(), Some(external_id.as_str()));
    let renamed = match store
        .update_tenant(
            &second,
            None,
            TenantChange {
                name: Some("Renamed".into()),
                ..TenantChange::default()
            },
            NOW + 4,
        )
        .await
        .unwrap()
    {
        UpdateOutcome::Updated(row) => row,
        other => panic!("{other:?}"),
    };
    assert_eq!(renamed.external_id.as_deref(), Some(external_id.as_str()));
    assert_eq!(
        by_external_id(&store, &external_id).await,
        [second.as_str()]
    );
}

async fn concurrent_updates_with_one_revision_succeed_once(store: Arc<StoreOps>) {
    let (id, _) = new_tenant(&store).await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (store, id) = (store.clone(), id.clone());
            tokio::spawn(async move {
                let change = TenantChange {
                    name: Some(format!("name {i}")),
                    ..TenantChange::default()
                };
                store
                    .update_tenant(&id, Some(1), change, NOW)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut updated = 0;
    for task in tasks {
        match task.await.unwrap() {
            UpdateOutcome::Updated(_) => updated += 1,
            UpdateOutcome::Stale => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(updated, 1);
    assert_eq!(store.get_tenant(&id).await.unwrap().unwrap().revision, 2);
}

async fn api_keys_authenticate_list_revoke_and_touch(store: Arc<StoreOps>) {
    let (id, primary) = new_tenant(&store).await;
    let (other, _) = new_tenant(&store).await;
    let auth = store.key_by_hash(&primary.key_hash).await.unwrap().unwrap();
    assert_eq!(
        (
            auth.key.id.as_str(),
            auth.key.primary,
            auth.tenant_status,
            auth.rate_limit_per_minute
        ),
        (primary.id.as_str(), true, TenantStatus::Active, 1000)
    );
    assert_eq!(auth.key.scopes, primary.scopes);
    assert_eq!(store.key_by_id(&primary.id).await.unwrap().unwrap(), auth);

    let extra = store.create_api_key(key(&id, false)).await.unwrap();
    assert!(!extra.primary);
    let mut expiring = key(&id, false);
    expiring.expires_at = Some(NOW - 1);
    store.create_api_key(expiring).await.unwrap();
    let listed = store.list_api_keys(&id, NOW, 0, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
        [primary.id.as_str(), extra.id.as_str()],
        "expired keys are not listed"
    );
    assert_eq!(store.tenant_usage(&id, NOW).await.unwrap().api_keys, 2);

    assert_eq!(
        store.revoke_api_key(&id, &primary.id, NOW).await.unwrap(),
        RevokeKeyOutcome::IsPrimary
    );
    assert_eq!(
        store.revoke_api_key(&other, &extra.id, NOW).await.unwrap(),
        RevokeKeyOutcome::NotFound,
        "another tenant's key does not exist for it"
    );
    let rt = token(&id, &extra.id, "fam-extra");
    store.insert_refresh_token(rt.clone()).await.unwrap();
    assert_eq!(
        store.revoke_api_key(&id, &extra.id, NOW).await.unwrap(),
        RevokeKeyOutcome::Revoked
    );
    assert_eq!(
        store.revoke_api_key(&id, &extra.id, NOW).await.unwrap(),
        RevokeKeyOutcome::NotFound
    );
    let revoked = store.key_by_id(&extra.id).await.unwrap().unwrap();
    assert!(!revoked.key.is_valid_at(NOW));
    assert_eq!(
        store
            .use_refresh_token(&rt.token_hash, "succ", NOW + 3600, NOW)
            .await
            .unwrap(),
        RefreshOutcome::Invalid,
        "refresh tokens of a revoked key are revoked"
    );

    store.touch_key(&primary.id, NOW).await.unwrap();
    store.touch_key(&primary.id, NOW + 30).await.unwrap();
    let touched = store.key_by_id(&primary.id).await.unwrap().unwrap();
    assert_eq!(touched.key.last_used_at, Some(NOW), "at most once a minute");
    store.touch_key(&primary.id, NOW + 61).await.unwrap();
    let touched = store.key_by_id(&primary.id).await.unwrap().unwrap();
    assert_eq!(touched.key.last_used_at, Some(NOW + 61));
}

async fn rotation_with_and_without_grace(store: Arc<StoreOps>) {
    let (id, first) = new_tenant(&store).await;
    let second = key(&id, true);
    assert!(
        store
            .rotate_primary_key(second.clone(), Some(NOW + 600), NOW)
            .await
            .unwrap()
    );
    let old = store.key_by_id(&first.id).await.unwrap().unwrap().key;
    assert_eq!(
        (old.primary, old.expires_at, old.revoked_at),
        (false, Some(NOW + 600), None)
    );
    assert!(old.is_valid_at(NOW + 599) && !old.is_valid_at(NOW + 600));

    let rt = token(&id, &second.id, "fam-rot");
    store.insert_refresh_token(rt.clone()).await.unwrap();
    let third = key(&id, true);
    assert!(
        store
            .rotate_primary_key(third.clone(), None, NOW)
            .await
            .unwrap()
    );
    let old = store.key_by_id(&second.id).await.unwrap().unwrap().key;
    assert_eq!((old.primary, old.revoked_at), (false, Some(NOW)));
    assert_eq!(
        store
            .use_refresh_token(&rt.token_hash, "succ", NOW + 3600, NOW)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    let now_primary = primaries(&store, &id).await;
    assert_eq!(now_primary.len(), 1);
    assert_eq!(now_primary[0].id, third.id);
    assert!(
        !store
            .rotate_primary_key(key("tn_missing", true), None, NOW)
            .await
            .unwrap()
    );
}

async fn concurrent_rotations_leave_exactly_one_primary(store: Arc<StoreOps>) {
    let (id, _) = new_tenant(&store).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, new_key) = (store.clone(), key(&id, true));
            let grace = (i % 2 == 0).then_some(NOW + 600);
            tokio::spawn(async move { store.rotate_primary_key(new_key, grace, NOW).await })
        })
        .collect();
    for task in tasks {
        assert!(
            task.await.unwrap().unwrap(),
            "every rotation succeeds, one after another"
        );
    }
    assert_eq!(primaries(&store, &id).await.len(), 1);
}

async fn refresh_tokens_are_single_use_and_reuse_revokes_the_chain(store: Arc<StoreOps>) {
    let (id, primary) = new_tenant(&store).await;
    let first = token(&id, &primary.id, "fam-1");
    store.insert_refresh_token(first.clone()).await.unwrap();
    assert_eq!(
        store
            .use_refresh_token(&first.token_hash, "second", NOW + 3600, NOW)
            .await
            .unwrap(),
        RefreshOutcome::Rotated {
            tenant_id: id.clone(),
            key_id: primary.id.clone()
        }
    );
    assert_eq!(
        store
            .use_refresh_token(&first.token_hash, "x", NOW + 3600, NOW)
            .await
            .unwrap(),
        RefreshOutcome::Reused
    );
    assert_eq!(
        store
            .use_refresh_token("second", "third", NOW + 3600, NOW)
            .await
            .unwrap(),
        RefreshOutcome::Invalid,
        "reuse revoked the successor too"
    );
    assert_eq!(
        store
            .use_refresh_token("unknown", "y", NOW + 3600, NOW)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    let expired = NewRefreshToken {
        expires_at: NOW,
        ..token(&id, &primary.id, "fam-2")
    };
    store.insert_refresh_token(expired.clone()).await.unwrap();
    assert_eq!(
        store
            .use_refresh_token(&expired.token_hash, "z", NOW + 3600, NOW)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    let live = token(&id, &primary.id, "fam-3");
    store.insert_refresh_token(live.clone()).await.unwrap();
    store
        .revoke_refresh_family(&live.token_hash, NOW)
        .await
        .unwrap();
    store.revoke_refresh_family("unknown", NOW).await.unwrap();
    assert_eq!(
        store
            .use_refresh_token(&live.token_hash, "w", NOW + 3600, NOW)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
}

async fn fifty_concurrent_refreshes_succeed_exactly_once(store: Arc<StoreOps>) {
    let (id, primary) = new_tenant(&store).await;
    let family = random_id("fam");
    let first = token(&id, &primary.id, &family);
    store.insert_refresh_token(first.clone()).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (store, hash) = (store.clone(), first.token_hash.clone());
            let successor = format!("{family}-succ-{i}");
            tokio::spawn(async move {
                let outcome = store
                    .use_refresh_token(&hash, &successor, NOW + 3600, NOW)
                    .await;
                (successor, outcome.unwrap())
            })
        })
        .collect();
    let mut rotated = Vec::new();
    for task in tasks {
        let (successor, outcome) = task.await.unwrap();
        match outcome {
            RefreshOutcome::Rotated { .. } => rotated.push(successor),
            RefreshOutcome::Reused => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(rotated.len(), 1, "exactly one presentation wins");
    assert_eq!(
        store
            .use_refresh_token(&rotated[0], "after", NOW + 3600, NOW)
            .await
            .unwrap(),
        RefreshOutcome::Invalid,
        "the losers' reuse revoked the chain"
    );
}

fn reservation(scope: &str, key: &str, hash: &str, now: Timestamp) -> IdempotencyReservation {
    IdempotencyReservation {
        scope: scope.to_owned(),
        key: key.to_owned(),
        request_hash: hash.to_owned(),
        tenant_id: None,
        now,
        expired_before: now - 86_400,
    }
}

/// Reserves `(scope, key)` and, when reserved, completes it with `body` in the same
/// transaction, committing only if `commit`.
async fn reserve_and_complete(
    store: &StoreOps,
    r: IdempotencyReservation,
    body: &str,
    commit: bool,
) -> IdempotencyBegin {
    let mut db = store.begin().await.unwrap();
    let begin = idempotency::reserve(&mut db, &r).await.unwrap();
    if begin == IdempotencyBegin::Reserved {
        idempotency::complete(&mut db, &r.scope, &r.key, 201, body)
            .await
            .unwrap();
        if commit {
            db.commit().await.unwrap();
        }
    }
    begin
}

async fn idempotency_reserve_replay_mismatch_rollback_expire(store: Arc<StoreOps>) {
    let scope = random_id("scope");
    assert_eq!(
        reserve_and_complete(&store, reservation(&scope, "k", "h1", NOW), "first", false).await,
        IdempotencyBegin::Reserved
    );
    assert_eq!(
        reserve_and_complete(&store, reservation(&scope, "k", "h2", NOW), "second", true).await,
        IdempotencyBegin::Reserved,
        "a rolled-back reservation leaves nothing: a retry runs"
    );
    assert_eq!(
        reserve_and_complete(&store, reservation(&scope, "k", "h2", NOW + 10), "x", true).await,
        IdempotencyBegin::Replay {
            status: 201,
            sealed_body: "second".into()
        }
    );
    assert_eq!(
        reserve_and_complete(&store, reservation(&scope, "k", "h1", NOW + 10), "x", true).await,
        IdempotencyBegin::Mismatch
    );
    assert_eq!(
        reserve_and_complete(
            &store,
            reservation(&scope, "k", "h3", NOW + 86_401),
            "third",
            true
        )
        .await,
        IdempotencyBegin::Reserved,
        "expired records give way"
    );
    let mut db = store.begin().await.unwrap();
    assert_eq!(
        idempotency::purge_expired(&mut db, NOW + 86_401 + 86_401)
            .await
            .unwrap(),
        1,
        "the purge removes records past their retention"
    );
    db.commit().await.unwrap();
    assert_eq!(
        reserve_and_complete(
            &store,
            reservation(&scope, "k", "h4", NOW + 86_402),
            "x",
            true
        )
        .await,
        IdempotencyBegin::Reserved
    );
}

async fn concurrent_idempotency_reservations_admit_one(store: Arc<StoreOps>) {
    let scope = random_id("scope");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (store, scope) = (store.clone(), scope.clone());
            tokio::spawn(async move {
                reserve_and_complete(&store, reservation(&scope, "same", "h", NOW), "body", true)
                    .await
            })
        })
        .collect();
    let mut reserved = 0;
    for task in tasks {
        match task.await.unwrap() {
            IdempotencyBegin::Reserved => reserved += 1,
            IdempotencyBegin::Replay { sealed_body, .. } => assert_eq!(sealed_body, "body"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(reserved, 1);
}

fn sealer() -> chalk_server::crypto::Sealer {
    chalk_server::crypto::Sealer::from_base64(&chalk_server::crypto::Sealer::generate_key_base64())
        .unwrap()
}

async fn all_signing_keys(store: &Arc<StoreOps>) -> Vec<signing_keys::SigningKeyRow> {
    let mut db = store.read().await.unwrap();
    signing_keys::list(&mut db).await.unwrap()
}

/// Instances starting together on an empty store create exactly one current key, and all
/// sign with it; its private half is stored sealed.
async fn the_first_signing_key_is_created_once(store: Arc<StoreOps>) {
    use chalk_server::domain::signing::TokenSigner;
    let sealer = sealer();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, sealer) = (store.0.clone(), sealer.clone());
            tokio::spawn(async move { TokenSigner::ed_dsa(store, sealer).await.unwrap() })
        })
        .collect();
    let mut jwks = Vec::new();
    for task in tasks {
        jwks.push(task.await.unwrap().jwks());
    }
    let keys = all_signing_keys(&store).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].status, signing_keys::CURRENT);
    assert!(
        jwks.iter()
            .all(|j| j.keys.len() == 1 && j.keys[0].kid == keys[0].kid)
    );
    // Sealed: `v1:` + base64 of nonce and ciphertext, opened only with the encryption key.
    assert!(keys[0].sealed_private_key.starts_with("v1:"));
    let pkcs8 = sealer.open(&keys[0].sealed_private_key).unwrap();
    assert!(!keys[0].sealed_private_key.contains(
        &base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &pkcs8)[4..40]
    ));
    assert!(!format!("{:?}", keys[0]).contains(&keys[0].sealed_private_key));
    // A second start finds it and creates nothing.
    TokenSigner::ed_dsa(store.0.clone(), sealer).await.unwrap();
    assert_eq!(all_signing_keys(&store).await.len(), 1);
}

/// Rotations, even concurrent ones, leave one current key; previous keys verify until
/// their time, then a later rotation marks them retired.
async fn signing_key_rotations_leave_one_current_key(store: Arc<StoreOps>) {
    let sealer = sealer();
    let first = chalk_server::domain::signing::generate_key(&sealer, NOW);
    {
        let mut db = store.begin().await.unwrap();
        assert!(
            signing_keys::insert_current_if_none(&mut db, &first)
                .await
                .unwrap()
        );
        db.commit().await.unwrap();
        let mut db = store.begin().await.unwrap();
        let second = chalk_server::domain::signing::generate_key(&sealer, NOW);
        assert!(
            !signing_keys::insert_current_if_none(&mut db, &second)
                .await
                .unwrap()
        );
        db.commit().await.unwrap();
    }
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (store, key) = (
                store.clone(),
                chalk_server::domain::signing::generate_key(&sealer, NOW),
            );
            tokio::spawn(async move {
                // As KeyRing::rotate does: a rotation that lost the race tries again.
                for _ in 0..10 {
                    let mut db = store.begin().await.unwrap();
                    match signing_keys::rotate(&mut db, &key, NOW + 100, NOW).await {
                        Ok(()) => match db.commit().await {
                            Ok(()) => return,
                            Err(StoreError::Unavailable(_)) => continue,
                            Err(e) => panic!("{e}"),
                        },
                        Err(StoreError::Conflict(_) | StoreError::Unavailable(_)) => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
                panic!("rotation never succeeded");
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let keys = all_signing_keys(&store).await;
    assert_eq!(keys.len(), 7);
    assert_eq!(
        keys.iter()
            .filter(|k| k.status == signing_keys::CURRENT)
            .count(),
        1
    );
    assert_eq!(keys[0].status, signing_keys::CURRENT);
    assert!(
        keys[1..]
            .iter()
            .all(|k| k.status == signing_keys::PREVIOUS && k.retires_at == Some(NOW + 100))
    );
    let verifying = |at| {
        let store = store.clone();
        async move {
            let mut db = store.read().await.unwrap();
            signing_keys::verifying(&mut db, at).await.unwrap().len()
        }
    };
    assert_eq!(verifying(NOW + 99).await, 7);
    assert_eq!(
        verifying(NOW + 100).await,
        1,
        "previous keys stop at retires_at"
    );
    // The next rotation marks them retired.
    let mut db = store.begin().await.unwrap();
    let next = chalk_server::domain::signing::generate_key(&sealer, NOW + 200);
    signing_keys::rotate(&mut db, &next, NOW + 300, NOW + 200)
        .await
        .unwrap();
    db.commit().await.unwrap();
    let keys = all_signing_keys(&store).await;
    assert_eq!(
        keys.iter()
            .filter(|k| k.status == signing_keys::RETIRED)
            .count(),
        6
    );
    assert_eq!(keys[0].kid, next.kid);
    assert_eq!(keys[1].status, signing_keys::PREVIOUS);
}

async fn ping_answers(store: Arc<StoreOps>) {
    store.ping().await.unwrap();
}

macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    let dir = tempfile::tempdir().unwrap();
                    let url = format!("sqlite://{}", dir.path().join("chalk.db").display());
                    let store: Arc<StoreOps> = Arc::new(StoreOps(Arc::new(Store::connect(&url).await.unwrap())));
                    super::$test(store).await;
                }
            )*
        }

        /// Each passes without running when `CHALK_TEST_POSTGRES_URL` is unset; the
        /// test `postgres_half_not_run` then says so.
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    let Some(schema) = support::postgres::TestSchema::create().await else {
                        return;
                    };
                    let store: Arc<StoreOps> =
                        Arc::new(StoreOps(Arc::new(Store::connect(&schema.url).await.unwrap())));
                    super::$test(store).await;
                }
            )*
        }
    };
}

conformance!(
    ping_answers,
    the_first_signing_key_is_created_once,
    signing_key_rotations_leave_one_current_key,
    tenants_create_read_list_update_delete,
    external_ids_are_unique_when_set_and_filter_the_list,
    concurrent_updates_with_one_revision_succeed_once,
    api_keys_authenticate_list_revoke_and_touch,
    rotation_with_and_without_grace,
    concurrent_rotations_leave_exactly_one_primary,
    refresh_tokens_are_single_use_and_reuse_revokes_the_chain,
    fifty_concurrent_refreshes_succeed_exactly_once,
    idempotency_reserve_replay_mismatch_rollback_expire,
    concurrent_idempotency_reservations_admit_one,
    room_quota_counts_open_rooms_only_and_ids_are_unique_per_tenant,
    concurrent_joins_and_creates_never_pass_the_limits,
    duplicate_users_tokens_and_emptiness,
    unknown_rooms_are_created_on_join_only_with_early_join_and_within_quota,
    a_join_wakes_a_room_waiting_empty_and_leaves_a_running_one,
);

/// Says plainly, in `cargo test`'s output, when the PostgreSQL half did not run.
#[test]
fn postgres_half_not_run() {
    if support::postgres::admin_url().is_none() {
        support::postgres::report_not_run();
    }
}

/// What a SQLite database's schema and migration records look like: every schema object
/// with its SQL, and sqlx's record of each migration (not when, nor how long it took).
async fn schema_of(
    url: &str,
) -> (
    Vec<(String, String, Option<String>)>,
    Vec<(i64, String, bool, Vec<u8>)>,
) {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    let objects = sqlx::query_as(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let records = sqlx::query_as(
        "SELECT version, description, success, checksum FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    (objects, records)
}

/// `migrations/sqlite_schema.sql` is the schema the SQLite migrations build, as
/// `store/migrations.rs` generates it; `CHALK_WRITE_SCHEMA=1` writes it again.
#[tokio::test]
async fn the_sqlite_schema_file_is_the_one_the_migrations_build() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/one-by-one.db?mode=rwc", dir.path().display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::migrate!("./migrations/sqlite")
        .run(&pool)
        .await
        .unwrap();
    pool.close().await;

    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let generated = chalk_server::store::migrations::schema_file_of(&mut conn)
        .await
        .unwrap();
    // The file holds no rows: a new database's migrations must leave every table empty.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(tables.len() > 10, "{tables:?}");
    for table in tables {
        let rows: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(
            rows, 0,
            "a new database's {table} holds rows: the schema file cannot"
        );
    }

    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite_schema.sql");
    if std::env::var_os("CHALK_WRITE_SCHEMA").is_some() {
        std::fs::write(file, &generated).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(file).unwrap(),
        generated,
        "migrations/sqlite_schema.sql is not the schema the migrations build: write it again \
         with CHALK_WRITE_SCHEMA=1 cargo test -p chalk-server --test store_conformance schema"
    );
}

/// Migration 0014 marks the tenants whose stored config already holds usage alerts: an
/// upgraded database's alert check still reads them, and only them.
#[tokio::test]
async fn an_upgraded_database_keeps_checking_the_alerts_it_held() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/chalk.db?mode=rwc", dir.path().display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let mut before = sqlx::migrate!("./migrations/sqlite");
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version < 14)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before.run(&pool).await.unwrap();
    let alerts =
        r#"{"usage_alerts":[{"metric":"participant_seconds","period":"month","threshold":3600}]}"#;
    for (id, config) in [("ten_alerting", alerts), ("ten_quiet", "{}")] {
        sqlx::query(
            "INSERT INTO tenants (id, name, email, status, max_concurrent_rooms, \
             max_participants_per_room, max_recording_duration_minutes, rate_limit_per_minute, \
             config, revision, created_at, updated_at) \
             VALUES (?, ?, NULL, 'active', 10, 10, 60, 100, ?, 1, 1764000000, 1764000000)",
        )
        .bind(id)
        .bind(id)
        .bind(config)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let store = Store::connect(&url).await.unwrap();
    let mut db = store.read().await.unwrap();
    let alerting: Vec<String> = usage::alerting_tenants(&mut db)
        .await
        .unwrap()
        .into_iter()
        .map(|tenant| tenant.tenant_id)
        .collect();
    assert_eq!(alerting, ["ten_alerting"]);
}

/// A new SQLite database is given the schema file and the records of the migrations it
/// includes, at once (`store/migrations.rs`): the same schema and the same records as
/// sqlx's migrator applying the migrations one by one.
#[tokio::test]
async fn a_new_sqlite_database_migrated_at_once_matches_one_migrated_by_sqlx() {
    let dir = tempfile::tempdir().unwrap();
    let at_once = format!("sqlite://{}/at-once.db?mode=rwc", dir.path().display());
    let one_by_one = format!("sqlite://{}/one-by-one.db?mode=rwc", dir.path().display());

    let store = Store::connect(&at_once).await.unwrap();
    store.close().await;
    // Opened again: an existing database, which sqlx's migrator alone checks.
    let store = Store::connect(&at_once).await.unwrap();
    store.close().await;
    let pool = sqlx::SqlitePool::connect(&one_by_one).await.unwrap();
    sqlx::migrate!("./migrations/sqlite")
        .run(&pool)
        .await
        .unwrap();
    pool.close().await;

    let (objects, records) = schema_of(&at_once).await;
    assert_eq!(
        (objects.clone(), records.clone()),
        schema_of(&one_by_one).await
    );
    assert!(
        objects
            .iter()
            .any(|(kind, name, _)| kind == "table" && name == "tenants")
    );
    assert_eq!(
        records.len(),
        sqlx::migrate!("./migrations/sqlite").iter().count()
    );
    assert!(records.iter().all(|(_, _, success, _)| *success));

    // They were applied together: one execution time for all, recorded as sqlx does.
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&at_once).await.unwrap();
    let times: Vec<i64> =
        sqlx::query_scalar("SELECT DISTINCT execution_time FROM _sqlx_migrations")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(times.len(), 1, "{times:?}");
    assert!(times[0] > 0);
}
