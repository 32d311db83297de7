//! Tenant config through the SDK's typed merge patch: set, reset, nested merge, masked
//! secrets, optimistic concurrency.

use chalk_sdk::model::{
    ConfigPatch, DuplicateParticipantPolicy, ErrorCode, Patch, TenantConfig, WebhookPatch,
};

use crate::common::TestServer;
use crate::support::{create_tenant, master, with_key};

#[tokio::test]
async fn a_patch_sets_fields_and_null_resets_them_to_the_default() {
    let server = TestServer::start().await;
    let created = create_tenant(&server, "Config Co").await;
    let tenant = with_key(&server, &created.api_key);
    let config = tenant.tenants().config(&created.tenant.id);

    let initial = config.get().await.unwrap();
    assert_eq!(initial.id, created.tenant.id);
    assert_eq!(initial.config, TenantConfig::default());

    let set = ConfigPatch {
        force_recording: Patch::Set(true),
        empty_room_timeout_minutes: Patch::Set(45),
        duplicate_participant_policy: Patch::Set(DuplicateParticipantPolicy::DisconnectExisting),
        transcription_language: Patch::Set("es-ES".into()),
        allowed_origins: Patch::Set(vec![
            "https://app.acme.edu".into(),
            "http://localhost:*".into(),
        ]),
        ..Default::default()
    };
    let after_set = config.update(&set).await.unwrap().config;
    assert!(after_set.force_recording);
    assert_eq!(after_set.empty_room_timeout_minutes, 45);
    assert_eq!(
        after_set.duplicate_participant_policy,
        DuplicateParticipantPolicy::DisconnectExisting
    );
    assert_eq!(after_set.transcription_language, "es-ES");
    assert_eq!(
        after_set.allowed_origins,
        ["https://app.acme.edu", "http://localhost:*"]
    );
    // Fields left out are untouched.
    assert_eq!(after_set.recording_retention_days, 30);

    // Reset two fields, leave the others as set.
    let reset = ConfigPatch {
        force_recording: Patch::Reset,
        transcription_language: Patch::Reset,
        ..Default::default()
    };
    let after_reset = config.update(&reset).await.unwrap().config;
    assert!(!after_reset.force_recording);
    assert_eq!(after_reset.transcription_language, "en-US");
    assert_eq!(after_reset.empty_room_timeout_minutes, 45);
    assert_eq!(after_reset.allowed_origins.len(), 2);

    // What the server holds now is what a fresh read and the tenant object say.
    assert_eq!(config.get().await.unwrap().config, after_reset);
    let admin = master(&server);
    assert_eq!(
        admin
            .tenants()
            .get(&created.tenant.id)
            .await
            .unwrap()
            .config,
        after_reset
    );
}

#[tokio::test]
async fn the_webhook_merges_field_by_field_and_its_secret_comes_back_masked() {
    let server = TestServer::start().await;
    let created = create_tenant(&server, "Webhook Co").await;
    let config = master(&server);
    let config = config.tenants().config(&created.tenant.id);

    let webhook = ConfigPatch {
        post_meeting_webhook: Patch::Set(WebhookPatch {
            enabled: Patch::Set(true),
            url: Patch::Set("https://hooks.acme.edu/chalk".into()),
            secret: Patch::Set("whsec_SuperSecretSuperSecretSuperSecretSup1234".into()),
            include_summary: Patch::Set(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let hook = config
        .update(&webhook)
        .await
        .unwrap()
        .config
        .post_meeting_webhook
        .expect("webhook set");
    assert!(hook.enabled && hook.include_summary);
    assert_eq!(hook.secret.as_deref(), Some("****1234"));

    // A nested patch changes one field and keeps the rest, secret included.
    let nested = ConfigPatch {
        post_meeting_webhook: Patch::Set(WebhookPatch {
            include_transcript: Patch::Set(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let hook = config
        .update(&nested)
        .await
        .unwrap()
        .config
        .post_meeting_webhook
        .expect("webhook kept");
    assert!(hook.include_transcript && hook.include_summary && hook.enabled);
    assert_eq!(hook.url.as_deref(), Some("https://hooks.acme.edu/chalk"));
    assert_eq!(hook.secret.as_deref(), Some("****1234"));

    // Reset removes the webhook altogether.
    let reset = ConfigPatch {
        post_meeting_webhook: Patch::Reset,
        ..Default::default()
    };
    let after = config.update(&reset).await.unwrap().config;
    assert_eq!(after.post_meeting_webhook, None);
}

#[tokio::test]
async fn an_invalid_patch_lists_every_bad_field_and_changes_nothing() {
    let server = TestServer::start().await;
    let created = create_tenant(&server, "Strict Co").await;
    let admin = master(&server);
    let config = admin.tenants().config(&created.tenant.id);

    let bad = ConfigPatch {
        force_recording: Patch::Set(true),
        empty_room_timeout_minutes: Patch::Set(0),
        allowed_origins: Patch::Set(vec![
            "https://ok.example".into(),
            "ftp://files.example".into(),
        ]),
        ..Default::default()
    };
    let err = config.update(&bad).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ValidationError));
    assert_eq!(err.status(), Some(422));
    let fields: Vec<&str> = err.details().iter().map(|d| d.field.as_str()).collect();
    assert!(fields.contains(&"empty_room_timeout_minutes"), "{fields:?}");
    assert!(fields.contains(&"allowed_origins[1]"), "{fields:?}");
    assert!(err.details().iter().all(|d| !d.message.is_empty()));

    // The valid field of the rejected patch was not applied either.
    assert_eq!(config.get().await.unwrap().config, TenantConfig::default());
}

#[tokio::test]
async fn config_update_if_match_refuses_a_stale_etag() {
    let server = TestServer::start().await;
    let created = create_tenant(&server, "Etag Co").await;
    let admin = master(&server);
    let config = admin.tenants().config(&created.tenant.id);

    let (current, etag) = config.get_with_etag().await.unwrap();
    let mut keywords = current.config.transcription_keywords;
    keywords.push("photosynthesis".into());
    let patch = ConfigPatch {
        transcription_keywords: Patch::Set(keywords),
        ..Default::default()
    };
    let applied = config.update_if_match(&etag, &patch).await.unwrap();
    assert_eq!(applied.config.transcription_keywords, ["photosynthesis"]);

    let stale = config
        .update_if_match(&etag, &ConfigPatch::default())
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Some(&ErrorCode::PreconditionFailed));
    let (_, fresh) = config.get_with_etag().await.unwrap();
    assert_ne!(fresh, etag);
}
