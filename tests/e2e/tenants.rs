//! The tenant lifecycle through the SDK: create, read, update, rotate, suspend, resume,
//! delete — and what each credential observes afterwards.

use chalk_sdk::model::{
    CreateTenantRequest, ErrorCode, Patch, RotateKeyRequest, TenantStatus, UpdateTenantRequest,
};

use crate::common::TestServer;
use crate::support::{create_tenant, master, with_key};

#[tokio::test]
async fn a_tenant_lives_from_create_to_delete() {
    let server = TestServer::start().await;
    let admin = master(&server);

    let request = CreateTenantRequest {
        email: Some("ops@acme.edu".into()),
        max_concurrent_rooms: Some(50),
        ..CreateTenantRequest::new("Acme University")
    };
    let created = admin.tenants().create(&request).await.unwrap();
    let id = created.tenant.id.clone();
    assert!(id.starts_with("tenant_"), "{id}");
    assert!(created.api_key.expose().starts_with("sk_live_"));
    assert!(created.key_id.starts_with("key_"));
    assert_eq!(created.tenant.name, "Acme University");
    assert_eq!(created.tenant.email.as_deref(), Some("ops@acme.edu"));
    assert_eq!(created.tenant.status, TenantStatus::Active);
    assert_eq!(created.tenant.max_concurrent_rooms, 50);
    assert_eq!(created.tenant.max_participants_per_room, 10);
    assert_eq!(created.tenant.usage.api_keys, 1);

    // The tenant's own key reads it, by id and as "current".
    let tenant = with_key(&server, &created.api_key);
    assert_eq!(tenant.tenants().current().await.unwrap().id, id);
    let fetched = admin.tenants().get(&id).await.unwrap();
    assert_eq!(fetched.name, "Acme University");

    // The tenant renames itself and drops its email; only those fields change.
    let update = UpdateTenantRequest {
        name: Some("Acme U".into()),
        email: Patch::Reset,
        ..Default::default()
    };
    let updated = tenant.tenants().update(&id, &update).await.unwrap();
    assert_eq!(updated.name, "Acme U");
    assert_eq!(updated.email, None);
    assert_eq!(updated.max_concurrent_rooms, 50);
    assert_eq!(admin.tenants().get(&id).await.unwrap().name, "Acme U");

    // The master key changes quotas.
    let quotas = UpdateTenantRequest {
        max_concurrent_rooms: Some(7),
        rate_limit_per_minute: Some(600),
        ..Default::default()
    };
    let updated = admin.tenants().update(&id, &quotas).await.unwrap();
    assert_eq!(
        (updated.max_concurrent_rooms, updated.rate_limit_per_minute),
        (7, 600)
    );

    let deleted = admin.tenants().delete(&id).await.unwrap();
    assert_eq!((deleted.id.as_str(), deleted.deleted), (id.as_str(), true));
    let gone = admin.tenants().get(&id).await.unwrap_err();
    assert_eq!(gone.code(), Some(&ErrorCode::NotFound));
    // Its key stopped working at once.
    let refused = tenant.tenants().current().await.unwrap_err();
    assert_eq!(refused.code(), Some(&ErrorCode::Unauthorized));
    assert_eq!(refused.status(), Some(401));
}

#[tokio::test]
async fn suspend_locks_every_credential_out_and_resume_lets_them_back() {
    let server = TestServer::start().await;
    let admin = master(&server);
    let created = create_tenant(&server, "Suspended Co").await;
    let id = &created.tenant.id;
    let tenant = with_key(&server, &created.api_key);

    let suspended = admin.tenants().suspend(id).await.unwrap();
    assert_eq!(suspended.status, TenantStatus::Suspended);
    let err = tenant.tenants().current().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::TenantSuspended));
    assert_eq!(err.status(), Some(403));
    assert!(err.request_id().is_some(), "{err:?}");
    assert!(!err.is_retryable());
    // Nothing was deleted: the operator still sees it, suspended.
    assert_eq!(
        admin.tenants().get(id).await.unwrap().status,
        TenantStatus::Suspended
    );

    let resumed = admin.tenants().resume(id).await.unwrap();
    assert_eq!(resumed.status, TenantStatus::Active);
    assert_eq!(tenant.tenants().current().await.unwrap().id, *id);
}

#[tokio::test]
async fn rotate_key_replaces_the_primary_key() {
    let server = TestServer::start().await;
    let created = create_tenant(&server, "Rotating Co").await;
    let id = &created.tenant.id;
    let old = with_key(&server, &created.api_key);

    // With a grace period the previous key keeps working.
    let graceful = RotateKeyRequest {
        expire_previous_in_seconds: Some(600),
    };
    let first = old.tenants().rotate_key(id, &graceful).await.unwrap();
    assert!(first.previous_key_expires_at.is_some());
    assert_ne!(first.api_key, created.api_key);
    assert_eq!(old.tenants().current().await.unwrap().id, *id);

    // Without one, the previous key stops at once; the newest works.
    let second_holder = with_key(&server, &first.api_key);
    let second = second_holder
        .tenants()
        .rotate_key(id, &RotateKeyRequest::default())
        .await
        .unwrap();
    assert_eq!(second.previous_key_expires_at, None);
    let err = second_holder.tenants().current().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unauthorized));
    let newest = with_key(&server, &second.api_key);
    assert_eq!(newest.tenants().current().await.unwrap().id, *id);

    let keys = newest
        .tenants()
        .api_keys(id)
        .list(&Default::default())
        .await
        .unwrap();
    let primaries: Vec<_> = keys.data.iter().filter(|k| k.primary).collect();
    assert_eq!(primaries.len(), 1, "{:?}", keys.data);
    assert_eq!(primaries[0].id, second.key_id);
}

#[tokio::test]
async fn update_if_match_applies_only_on_the_current_revision() {
    let server = TestServer::start().await;
    let admin = master(&server);
    let created = create_tenant(&server, "Concurrent Co").await;
    let id = &created.tenant.id;

    let (tenant, etag) = admin.tenants().get_with_etag(id).await.unwrap();
    assert_eq!(tenant.id, *id);
    let rename = |name: &str| UpdateTenantRequest {
        name: Some(name.into()),
        ..Default::default()
    };
    let updated = admin
        .tenants()
        .update_if_match(id, &etag, &rename("First writer"))
        .await
        .unwrap();
    assert_eq!(updated.name, "First writer");

    // A second writer holding the old ETag is refused; nothing changes.
    let err = admin
        .tenants()
        .update_if_match(id, &etag, &rename("Second writer"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::PreconditionFailed));
    assert_eq!(err.status(), Some(412));
    assert_eq!(admin.tenants().get(id).await.unwrap().name, "First writer");
}

#[tokio::test]
async fn an_external_id_finds_its_tenant_and_belongs_to_the_operator() {
    let server = TestServer::start().await;
    let admin = master(&server);
    assert_eq!(
        admin.tenants().get_by_external_id("acme").await.unwrap(),
        None,
        "nothing yet"
    );
    let request = CreateTenantRequest {
        external_id: Some("acme".into()),
        ..CreateTenantRequest::new("Acme University")
    };
    let created = admin.tenants().create(&request).await.unwrap();
    assert_eq!(created.tenant.external_id.as_deref(), Some("acme"));
    let found = admin
        .tenants()
        .get_by_external_id("acme")
        .await
        .unwrap()
        .expect("found by its external id");
    assert_eq!(found.id, created.tenant.id);

    // A second tenant cannot take it.
    let taken = admin.tenants().create(&request).await.unwrap_err();
    assert_eq!(taken.code(), Some(&ErrorCode::Conflict));
    assert_eq!(taken.details()[0].field, "external_id");

    // The tenant itself, even with tenant:admin, may neither change nor clear it.
    let tenant = with_key(&server, &created.api_key);
    for external_id in [Patch::Set("mine".into()), Patch::Reset] {
        let change = UpdateTenantRequest {
            external_id,
            ..Default::default()
        };
        let refused = tenant
            .tenants()
            .update(&found.id, &change)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Some(&ErrorCode::Forbidden));
        assert_eq!(refused.details()[0].field, "external_id");
    }
    assert_eq!(
        tenant
            .tenants()
            .current()
            .await
            .unwrap()
            .external_id
            .as_deref(),
        Some("acme")
    );

    // The operator clears it; then nothing has it.
    let clear = UpdateTenantRequest {
        external_id: Patch::Reset,
        ..Default::default()
    };
    let cleared = admin.tenants().update(&found.id, &clear).await.unwrap();
    assert_eq!(cleared.external_id, None);
    assert_eq!(
        admin.tenants().get_by_external_id("acme").await.unwrap(),
        None
    );
    // A value no tenant could have is an error, not "not found".
    let bad = admin
        .tenants()
        .get_by_external_id("Acme")
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some(&ErrorCode::InvalidRequest));
    assert_eq!(bad.details()[0].field, "external_id");
}
