//! `client.tenants().config(id)`.

use chalk_sdk::SecretString;
use chalk_sdk::model::{
    AiProviderPatch, ConfigPatch, DuplicateParticipantPolicy, Patch, WebhookPatch,
};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

#[tokio::test]
async fn get_decodes_the_config_with_masked_secrets() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants/tenant_abc123/config"))
        .and(header("x-api-key", API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("config.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let response = tenant_key(&server)
        .tenants()
        .config("tenant_abc123")
        .get()
        .await
        .unwrap();
    assert_eq!(response.id, "tenant_abc123");
    let config = response.config;
    assert_eq!(
        config.duplicate_participant_policy,
        DuplicateParticipantPolicy::DisconnectExisting
    );
    assert_eq!(config.recording_retention_days, 90);
    let webhook = config.post_meeting_webhook.unwrap();
    assert_eq!(webhook.secret.as_deref(), Some("****cret"));
    assert_eq!(webhook.ai.unwrap().model.as_deref(), Some("gpt-4o"));
}

#[tokio::test]
async fn get_with_etag() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/tenants/tenant_abc123/config"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"12\"")
                .set_body_json(data(fixture("config.json"))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (response, etag) = master(&server)
        .tenants()
        .config("tenant_abc123")
        .get_with_etag()
        .await
        .unwrap();
    assert_eq!(etag, "\"12\"");
    assert_eq!(response.config.transcription_language, "es-ES");
}

#[tokio::test]
async fn update_sends_a_merge_patch_with_set_reset_and_nested_fields() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/api/v1/tenants/tenant_abc123/config"))
        .and(header("x-master-key", MASTER_KEY))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "force_recording": true,
            "transcription_language": null,
            "allowed_origins": ["https://app.acme.edu"],
            "duplicate_participant_policy": "disconnect_existing",
            "post_meeting_webhook": {
                "url": "https://hooks.acme.edu/chalk",
                "secret": "whsec_PlainOnTheWayInPlainOnTheWayInPl",
                "ai": {"api_key": null, "model": "gpt-4o"}
            }
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("config.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let patch = ConfigPatch {
        force_recording: Patch::Set(true),
        transcription_language: Patch::Reset,
        allowed_origins: Patch::Set(vec!["https://app.acme.edu".into()]),
        duplicate_participant_policy: Patch::Set(DuplicateParticipantPolicy::DisconnectExisting),
        post_meeting_webhook: Patch::Set(WebhookPatch {
            url: Patch::Set("https://hooks.acme.edu/chalk".into()),
            secret: Patch::Set(SecretString::new("whsec_PlainOnTheWayInPlainOnTheWayInPl")),
            ai: Patch::Set(AiProviderPatch {
                api_key: Patch::Reset,
                model: Patch::Set("gpt-4o".into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let response = master(&server)
        .tenants()
        .config("tenant_abc123")
        .update(&patch)
        .await
        .unwrap();
    assert!(response.config.force_recording);
    assert!(requests(&server).await[0].headers.get("if-match").is_none());
}

#[tokio::test]
async fn update_if_match_sends_the_etag() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/api/v1/tenants/tenant_abc123/config"))
        .and(header("if-match", "\"12\""))
        .and(body_json(
            json!({"transcription_keywords": ["photosynthesis"]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("config.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let patch = ConfigPatch {
        transcription_keywords: Patch::Set(vec!["photosynthesis".into()]),
        ..Default::default()
    };
    master(&server)
        .tenants()
        .config("tenant_abc123")
        .update_if_match("\"12\"", &patch)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_empty_patch_is_an_empty_object() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/api/v1/tenants/tenant_abc123/config"))
        .and(body_json(json!({})))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("config.json"))))
        .expect(1)
        .mount(&server)
        .await;
    master(&server)
        .tenants()
        .config("tenant_abc123")
        .update(&ConfigPatch::default())
        .await
        .unwrap();
}
