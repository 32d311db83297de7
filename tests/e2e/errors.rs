//! Every failure comes back as a typed, matchable `chalk_sdk::Error`.

use chalk_sdk::model::{CreateTenantRequest, ErrorCode};
use chalk_sdk::{Client, Error};

use crate::common::TestServer;
use crate::support::{create_tenant, master, with_key};

#[tokio::test]
async fn an_unknown_or_foreign_tenant_is_not_found() {
    let server = TestServer::start().await;
    let admin = master(&server);
    let err = admin
        .tenants()
        .get("tenant_doesnotexist")
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            status: 404,
            code: ErrorCode::NotFound,
            request_id: Some(id),
            ..
        } => assert!(!id.is_empty()),
        other => panic!("expected a 404 NOT_FOUND, got {other:?}"),
    }
    assert!(!err.is_retryable());

    // Another tenant's resources are 404 too, never 403: their existence is not revealed.
    let a = create_tenant(&server, "Tenant A").await;
    let b = create_tenant(&server, "Tenant B").await;
    let as_a = with_key(&server, &a.api_key);
    for err in [
        as_a.tenants().get(&b.tenant.id).await.unwrap_err(),
        as_a.tenants().config(&b.tenant.id).get().await.unwrap_err(),
        as_a.tenants().delete(&b.tenant.id).await.unwrap_err(),
    ] {
        assert_eq!(err.code(), Some(&ErrorCode::NotFound), "{err:?}");
    }
    assert_eq!(
        admin.tenants().get(&b.tenant.id).await.unwrap().name,
        "Tenant B"
    );
}

#[tokio::test]
async fn a_taken_email_is_conflict() {
    let server = TestServer::start().await;
    let admin = master(&server);
    let with_email = |name: &str| CreateTenantRequest {
        email: Some("shared@acme.edu".into()),
        ..CreateTenantRequest::new(name)
    };
    admin.tenants().create(&with_email("First")).await.unwrap();
    let err = admin
        .tenants()
        .create(&with_email("Second"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Conflict));
    assert_eq!(err.status(), Some(409));
    let all = admin.tenants().list(&Default::default()).await.unwrap();
    assert_eq!(all.data.len(), 1);
}

#[tokio::test]
async fn invalid_input_is_a_validation_error_naming_every_field() {
    let server = TestServer::start().await;
    let admin = master(&server);
    let request = CreateTenantRequest {
        max_concurrent_rooms: Some(0),
        max_recording_duration_minutes: Some(100_000),
        ..CreateTenantRequest::new("   ")
    };
    let err = admin.tenants().create(&request).await.unwrap_err();
    let Error::Api {
        status,
        code,
        details,
        ..
    } = &err
    else {
        panic!("expected an API error, got {err:?}");
    };
    assert_eq!((*status, code), (422, &ErrorCode::ValidationError));
    let mut fields: Vec<&str> = details.iter().map(|d| d.field.as_str()).collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "max_concurrent_rooms",
            "max_recording_duration_minutes",
            "name"
        ]
    );
    // The Display names the fields too, for a log line.
    assert!(err.to_string().contains("max_concurrent_rooms"), "{err}");
    assert!(
        admin
            .tenants()
            .list(&Default::default())
            .await
            .unwrap()
            .data
            .is_empty()
    );
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized_and_missing_rights_forbidden() {
    let server = TestServer::start().await;
    let created = create_tenant(&server, "Creds Co").await;

    let wrong_master = Client::builder()
        .base_url(&server.base_url)
        .master_key("not-the-master-key")
        .build()
        .unwrap();
    let err = wrong_master
        .tenants()
        .list(&Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unauthorized));

    let wrong_key = Client::builder()
        .base_url(&server.base_url)
        .api_key("sk_live_00000000000000000000000000000000")
        .build()
        .unwrap();
    let err = wrong_key.tenants().current().await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unauthorized));
    assert_eq!(err.status(), Some(401));

    // A tenant may not list every tenant, nor suspend itself.
    let tenant = with_key(&server, &created.api_key);
    let err = tenant
        .tenants()
        .list(&Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Forbidden));
    let err = tenant
        .tenants()
        .suspend(&created.tenant.id)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Forbidden));
}

#[tokio::test]
async fn a_server_that_is_gone_is_a_retryable_transport_error() {
    let server = TestServer::start().await;
    let client = Client::builder()
        .base_url(&server.base_url)
        .master_key(crate::common::MASTER_KEY)
        .retry_policy(chalk_sdk::RetryPolicy::none())
        .build()
        .unwrap();
    assert!(client.tenants().list(&Default::default()).await.is_ok());
    server.shutdown().await;
    let err = client
        .tenants()
        .list(&Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.code(), None);
}

#[tokio::test]
async fn a_tenant_over_its_rate_limit_is_rate_limited_with_retry_after() {
    let server = TestServer::start().await;
    let request = CreateTenantRequest {
        rate_limit_per_minute: Some(2),
        ..CreateTenantRequest::new("Busy Co")
    };
    let created = master(&server).tenants().create(&request).await.unwrap();
    let tenant = with_key(&server, &created.api_key);
    // Two requests a minute: of five in a row at least one is refused, even if a
    // minute boundary falls between them.
    let mut refused = None;
    for _ in 0..5 {
        if let Err(e) = tenant.tenants().current().await {
            refused = Some(e);
            break;
        }
    }
    let err = refused.expect("no request was rate limited");
    assert_eq!(err.code(), Some(&ErrorCode::RateLimited));
    assert_eq!(err.status(), Some(429));
    assert!(err.is_retryable());
    let wait = err.retry_after().expect("Retry-After");
    assert!(wait.as_secs() >= 1 && wait.as_secs() <= 60, "{wait:?}");
    // The operator is not the tenant: its requests are not counted against it.
    assert_eq!(
        master(&server)
            .tenants()
            .get(&created.tenant.id)
            .await
            .unwrap()
            .id,
        created.tenant.id
    );
}
