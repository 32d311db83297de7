//! docs/api.md Config: GET and merge-PATCH, every rule of the Config table over HTTP, secrets
//! masked in every response and encrypted at rest, nothing written on error.

use serde_json::{Value, json};

use crate::common::*;

fn config_path(tenant: &Tenant) -> String {
    format!("/api/v1/tenants/{}/config", tenant.id)
}

#[tokio::test]
async fn get_returns_the_contract_defaults_with_an_etag() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let response = app.get(&config_path(&acme)).key(&acme.key).send().await;
    response.assert_status(200);
    let data = &response.body["data"];
    assert_eq!(data["id"], acme.id.as_str());
    assert!(data["updated_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        data["config"],
        json!({
            "force_recording": false,
            "auto_start_recording": false,
            "allow_early_join": true,
            "empty_room_timeout_minutes": 30,
            "recording_retention_days": 30,
            "duplicate_participant_policy": "reject",
            "transcription_enabled": true,
            "transcription_language": "en-US",
            "transcription_profanity_filter": false,
            "transcription_keywords": [],
            "allowed_origins": [],
            "post_meeting_webhook": null,
            "usage_alerts": []
        })
    );
    // The tenant and its config share one revision.
    assert_eq!(response.etag(), app.read_tenant(&acme.id).await.etag());
}

#[tokio::test]
async fn patch_merges_absent_unchanged_null_default_nested_merge() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = config_path(&acme);
    let response = app
        .patch(&path)
        .key(&acme.key)
        .json(
            json!({"force_recording": true, "empty_room_timeout_minutes": 45,
            "transcription_keywords": ["chemistry"],
            "post_meeting_webhook": {"enabled": true, "url": "https://hooks.acme.edu/a",
                "secret": "whsec_abcdefghijklmnopqrstuvwxyzAB1234", "include_summary": true,
                "ai": {"provider": "openai", "api_key": "sk-ai-secret-5678", "model": "gpt-4o"}}}),
        )
        .send()
        .await;
    response.assert_status(200);
    let config = &response.body["data"]["config"];
    assert_eq!(config["force_recording"], true);
    assert_eq!(config["empty_room_timeout_minutes"], 45);
    assert_eq!(config["post_meeting_webhook"]["include_summary"], true);
    assert_eq!(config["post_meeting_webhook"]["include_recording"], false);
    let first_etag = response.etag();

    // Absent = unchanged, null = default, nested objects merge.
    let response = app
        .patch(&path)
        .key(&acme.key)
        .json(
            json!({"empty_room_timeout_minutes": null, "auto_start_recording": true,
            "post_meeting_webhook": {"url": "https://hooks.acme.edu/b",
                "ai": {"model": "gpt-4.1"}}}),
        )
        .send()
        .await;
    response.assert_status(200);
    assert_ne!(response.etag(), first_etag);
    let config = response.body["data"]["config"].clone();
    assert_eq!(config["force_recording"], true, "absent: unchanged");
    assert_eq!(config["auto_start_recording"], true);
    assert_eq!(
        config["empty_room_timeout_minutes"], 30,
        "null: the default"
    );
    assert_eq!(config["transcription_keywords"], json!(["chemistry"]));
    let hook = &config["post_meeting_webhook"];
    assert_eq!(hook["url"], "https://hooks.acme.edu/b");
    assert_eq!(hook["enabled"], true, "nested: merged, not replaced");
    assert_eq!(hook["secret"], "****1234");
    assert_eq!(hook["ai"]["model"], "gpt-4.1");
    assert_eq!(hook["ai"]["provider"], "openai");
    assert_eq!(hook["ai"]["api_key"], "****5678");

    // GET shows what PATCH returned; the whole tenant carries the same config.
    let read = app.get(&path).master().send().await;
    assert_eq!(read.body["data"]["config"], config);
    assert_eq!(
        app.read_tenant(&acme.id).await.body["data"]["config"],
        config
    );

    // Resetting the webhook drops it (and its secrets) entirely.
    let response = app
        .patch(&path)
        .master()
        .json(json!({"post_meeting_webhook": null}))
        .send()
        .await;
    response.assert_status(200);
    assert!(response.body["data"]["config"]["post_meeting_webhook"].is_null());
}

#[tokio::test]
async fn secrets_are_masked_everywhere_and_encrypted_at_rest() {
    let app = test_app().await;
    let secret = "whsec_PlaintextMustNotLeakPlaintextMustNotLeak9876";
    let provider_key = "dg_provider_key_never_shown_4321";
    let acme = app
        .create_tenant(json!({"name": "Acme", "config": {"post_meeting_webhook": {
            "url": "https://hooks.acme.edu", "secret": secret,
            "transcription": {"provider": "deepgram", "api_key": provider_key}}}}))
        .await;
    assert_eq!(
        acme.body["config"]["post_meeting_webhook"]["secret"],
        "****9876"
    );
    assert_eq!(
        acme.body["config"]["post_meeting_webhook"]["transcription"]["api_key"],
        "****4321"
    );
    let responses = [
        app.read_tenant(&acme.id).await,
        app.get(&config_path(&acme)).master().send().await,
        app.get("/api/v1/tenant").key(&acme.key).send().await,
        app.get("/api/v1/tenants").master().send().await,
        app.patch(&config_path(&acme))
            .master()
            .json(json!({"force_recording": true}))
            .send()
            .await,
    ];
    for response in &responses {
        response.assert_status(200);
        assert!(!response.text.contains(secret), "{}", response.text);
        assert!(!response.text.contains(provider_key), "{}", response.text);
        assert!(response.text.contains("****9876"));
    }
    // The column itself, as the database holds it.
    let mut db = app.state.store.read().await.unwrap();
    let raw: String = sqlx::query_scalar("SELECT config FROM tenants WHERE id = $1")
        .bind(&acme.id)
        .fetch_one(db.conn().unwrap())
        .await
        .unwrap();
    assert!(!raw.contains(secret), "stored sealed: {raw}");
    assert!(!raw.contains(provider_key));
    assert!(!raw.contains("PlaintextMustNotLeak"));
    // Sealed, not lost: the stored form opens back to the secret.
    let stored: chalk_server::store::stored_config::StoredConfig =
        serde_json::from_str(&raw).unwrap();
    let hook = stored.post_meeting_webhook.unwrap();
    assert_eq!(
        hook.secret.unwrap().open(&app.state.sealer).unwrap(),
        secret
    );
}

/// One bad value per rule of the Config table, each answered with its field.
#[tokio::test]
async fn every_config_rule_is_enforced_over_http() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = config_path(&acme);
    let too_many_keywords: Vec<String> = (0..101).map(|n| format!("k{n}")).collect();
    let too_many_origins: Vec<String> = (0..21)
        .map(|n| format!("https://o{n}.example.com"))
        .collect();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"force_recording": "yes"}), "force_recording"),
        (json!({"auto_start_recording": 1}), "auto_start_recording"),
        (json!({"allow_early_join": "true"}), "allow_early_join"),
        (
            json!({"empty_room_timeout_minutes": 0}),
            "empty_room_timeout_minutes",
        ),
        (
            json!({"empty_room_timeout_minutes": 1441}),
            "empty_room_timeout_minutes",
        ),
        (
            json!({"empty_room_timeout_minutes": 2.5}),
            "empty_room_timeout_minutes",
        ),
        (
            json!({"recording_retention_days": 0}),
            "recording_retention_days",
        ),
        (
            json!({"recording_retention_days": 3651}),
            "recording_retention_days",
        ),
        (
            json!({"duplicate_participant_policy": "kick"}),
            "duplicate_participant_policy",
        ),
        (
            json!({"transcription_enabled": null, "transcription_language": "english!"}),
            "transcription_language",
        ),
        (
            json!({"transcription_language": ""}),
            "transcription_language",
        ),
        (
            json!({"transcription_profanity_filter": "no"}),
            "transcription_profanity_filter",
        ),
        (
            json!({"transcription_keywords": too_many_keywords}),
            "transcription_keywords",
        ),
        (
            json!({"transcription_keywords": ["ok", ""]}),
            "transcription_keywords[1]",
        ),
        (
            json!({"transcription_keywords": ["x".repeat(101)]}),
            "transcription_keywords[0]",
        ),
        (
            json!({"transcription_keywords": "chemistry"}),
            "transcription_keywords",
        ),
        (
            json!({"allowed_origins": too_many_origins}),
            "allowed_origins",
        ),
        (
            json!({"allowed_origins": ["https://acme.edu/path"]}),
            "allowed_origins[0]",
        ),
        (
            json!({"allowed_origins": ["https://acme.edu", "https://*.acme.edu"]}),
            "allowed_origins[1]",
        ),
        (
            json!({"allowed_origins": ["ftp://acme.edu"]}),
            "allowed_origins[0]",
        ),
        (
            json!({"allowed_origins": ["https://acme.edu?x=1"]}),
            "allowed_origins[0]",
        ),
        (
            json!({"allowed_origins": ["http://example.com:*"]}),
            "allowed_origins[0]",
        ),
        (
            json!({"post_meeting_webhook": {"url": "http://hooks.acme.edu"}}),
            "post_meeting_webhook.url",
        ),
        (
            json!({"post_meeting_webhook": {"url": "not a url"}}),
            "post_meeting_webhook.url",
        ),
        (
            json!({"post_meeting_webhook": {"enabled": "on"}}),
            "post_meeting_webhook.enabled",
        ),
        (
            json!({"post_meeting_webhook": {"include_transcript": 0}}),
            "post_meeting_webhook.include_transcript",
        ),
        (
            json!({"post_meeting_webhook": {"transcription": {"provider": "dg", "key": "x"}}}),
            "post_meeting_webhook.transcription.key",
        ),
        (
            json!({"post_meeting_webhook": {"ai": {"model": 4}}}),
            "post_meeting_webhook.ai.model",
        ),
        (
            json!({"post_meeting_webhook": {"secretz": "x"}}),
            "post_meeting_webhook.secretz",
        ),
        (
            json!({"post_meeting_webhook": "https://hooks.acme.edu"}),
            "post_meeting_webhook",
        ),
        (json!({"colour": "blue"}), "colour"),
    ];
    let before = app.get(&path).master().send().await;
    for (patch, field) in cases {
        let response = app.patch(&path).master().json(patch.clone()).send().await;
        response.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(response.fields(), [field], "{patch}");
    }
    let after = app.get(&path).master().send().await;
    assert_eq!(after.body, before.body, "no rejected patch wrote anything");
    assert_eq!(after.etag(), before.etag());
}

#[tokio::test]
async fn accepted_edge_values_are_normalized() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let hundred_keywords: Vec<String> = (0..100).map(|n| format!("k{n}")).collect();
    let response = app
        .patch(&config_path(&acme))
        .master()
        .json(
            json!({"empty_room_timeout_minutes": 1440, "recording_retention_days": 3650,
            "duplicate_participant_policy": "disconnect_existing",
            "transcription_language": "zh-Hans-CN", "transcription_keywords": hundred_keywords,
            "allowed_origins": ["https://app.acme.edu", "http://localhost:*",
                "https://app.acme.edu", "http://127.0.0.1:3000"],
            "post_meeting_webhook": {"url": "https://hooks.example.com/chalk"}}),
        )
        .send()
        .await;
    response.assert_status(200);
    let config = &response.body["data"]["config"];
    assert_eq!(config["empty_room_timeout_minutes"], 1440);
    assert_eq!(config["recording_retention_days"], 3650);
    assert_eq!(
        config["duplicate_participant_policy"],
        "disconnect_existing"
    );
    assert_eq!(config["transcription_language"], "zh-Hans-CN");
    assert_eq!(
        config["transcription_keywords"].as_array().unwrap().len(),
        100
    );
    assert_eq!(
        config["allowed_origins"],
        json!([
            "https://app.acme.edu",
            "http://localhost:*",
            "http://127.0.0.1:3000"
        ]),
        "duplicates removed, order kept"
    );
    assert_eq!(
        config["post_meeting_webhook"]["url"],
        "https://hooks.example.com/chalk"
    );
}

#[tokio::test]
async fn every_bad_field_is_reported_at_once_and_nothing_is_written() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = config_path(&acme);
    app.patch(&path)
        .master()
        .json(json!({"force_recording": true}))
        .send()
        .await
        .assert_status(200);
    let before = app.get(&path).master().send().await;
    let response = app
        .patch(&path)
        .master()
        .json(
            json!({"auto_start_recording": true, "empty_room_timeout_minutes": 0,
            "recording_retention_days": 99999, "allowed_origins": ["https://ok.edu", "nope"],
            "transcription_language": "??", "post_meeting_webhook": {"url": "http://evil.com"}}),
        )
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    let mut fields = response.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "allowed_origins[1]",
            "empty_room_timeout_minutes",
            "post_meeting_webhook.url",
            "recording_retention_days",
            "transcription_language"
        ]
    );
    let after = app.get(&path).master().send().await;
    assert_eq!(after.body, before.body);
    assert_eq!(after.body["data"]["config"]["auto_start_recording"], false);
    assert_eq!(after.etag(), before.etag());
}

#[tokio::test]
async fn the_patch_must_be_a_json_object() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = config_path(&acme);
    for body in [json!([]), json!("force_recording"), json!(null), json!(3)] {
        let response = app.patch(&path).master().json(body).send().await;
        response.assert_error(422, "VALIDATION_ERROR");
    }
    app.patch(&path)
        .master()
        .raw("{}")
        .send()
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    app.patch(&path)
        .master()
        .header("Content-Type", "application/json")
        .raw("{\"force_recording\": tru}")
        .send()
        .await
        .assert_error(400, "INVALID_REQUEST");
}

#[tokio::test]
async fn config_access_follows_scopes_and_tenancy() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    let path = config_path(&acme);
    let (read_key, _) = app.scoped_key(&acme, &["tenant:read"]).await;
    let (rooms_key, _) = app.scoped_key(&acme, &["rooms:write"]).await;
    app.get(&path)
        .key(&read_key)
        .send()
        .await
        .assert_status(200);
    app.get(&path)
        .key(&rooms_key)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.patch(&path)
        .key(&read_key)
        .json(json!({"force_recording": true}))
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.get(&path)
        .key(&other.key)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.patch(&path)
        .key(&other.key)
        .json(json!({"force_recording": true}))
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.get(&path)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.get("/api/v1/tenants/tenant_nope/config")
        .master()
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.patch("/api/v1/tenants/tenant_nope/config")
        .master()
        .json(json!({}))
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    let read = app.get(&path).master().send().await;
    assert_eq!(read.body["data"]["config"]["force_recording"], false);
}

#[tokio::test]
async fn if_match_guards_config_writes() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = config_path(&acme);
    let etag = app.get(&path).master().send().await.etag();
    let first = app
        .patch(&path)
        .master()
        .header("If-Match", &etag)
        .json(json!({"transcription_language": "es-ES"}))
        .send()
        .await;
    first.assert_status(200);
    app.patch(&path)
        .master()
        .header("If-Match", &etag)
        .json(json!({"transcription_language": "de-DE"}))
        .send()
        .await
        .assert_error(412, "PRECONDITION_FAILED");
    // A tenant write moves the config's ETag too: they are one revision.
    app.patch(&format!("/api/v1/tenants/{}", acme.id))
        .master()
        .json(json!({"name": "Renamed"}))
        .send()
        .await
        .assert_status(200);
    app.patch(&path)
        .master()
        .header("If-Match", &first.etag())
        .json(json!({"transcription_language": "fr-FR"}))
        .send()
        .await
        .assert_error(412, "PRECONDITION_FAILED");
    let read = app.get(&path).master().send().await;
    assert_eq!(
        read.body["data"]["config"]["transcription_language"],
        "es-ES"
    );
    app.patch(&path)
        .master()
        .header("If-Match", &read.etag())
        .json(json!({"transcription_language": "fr-FR"}))
        .send()
        .await
        .assert_status(200);
}

/// docs/api.md "Webhooks": the post-meeting webhook goes to a public `https://` address (unless
/// the operator allows private targets, which this server does not) and is signed with a
/// `whsec_` secret. Each refusal names its field and leaves the stored config as it was.
#[tokio::test]
async fn webhook_targets_and_secrets_are_checked_over_http() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = config_path(&acme);
    app.patch(&path)
        .master()
        .json(json!({"post_meeting_webhook": {"enabled": true,
            "url": "https://hooks.example.com/chalk",
            "secret": "whsec_abcdefghijklmnopqrstuvwxyzAB1234"}}))
        .send()
        .await
        .assert_status(200);
    let before = app.get(&path).master().send().await;
    let stored_before =
        chalk_server::store::tenants::get(&mut app.state.store.read().await.unwrap(), &acme.id)
            .await
            .unwrap()
            .unwrap();
    let cases = [
        (
            json!({"url": "https://169.254.169.254/latest/meta-data/"}),
            "url",
        ),
        (json!({"url": "https://10.0.0.1/hook"}), "url"),
        (json!({"url": "https://[::1]/hook"}), "url"),
        (
            json!({"url": "https://[::ffff:169.254.169.254]/hook"}),
            "url",
        ),
        (json!({"url": "http://example.com/hook"}), "url"),
        (json!({"url": "http://localhost:9000/hook"}), "url"),
        (json!({"url": "http://127.0.0.1/hook"}), "url"),
        (json!({"secret": "a-shared-secret-of-any-form"}), "secret"),
        (json!({"secret": "whsec_abcdefgh1234"}), "secret"),
    ];
    for (hook, field) in cases {
        let patch = json!({"post_meeting_webhook": hook});
        let response = app.patch(&path).master().json(patch.clone()).send().await;
        response.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(
            response.fields(),
            [format!("post_meeting_webhook.{field}")],
            "{patch}"
        );
    }
    let after = app.get(&path).master().send().await;
    assert_eq!(after.body, before.body, "no rejected patch wrote anything");
    assert_eq!(after.etag(), before.etag());
    let stored_after =
        chalk_server::store::tenants::get(&mut app.state.store.read().await.unwrap(), &acme.id)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(stored_after.config, stored_before.config);

    // Embedded in a new tenant, both are reported at once and no tenant is created.
    let tenants_before = app.get("/api/v1/tenants").master().send().await;
    let response = app
        .post("/api/v1/tenants")
        .master()
        .json(
            json!({"name": "Metadata Co", "config": {"post_meeting_webhook": {
            "url": "https://169.254.169.254/latest/meta-data/", "secret": "not-whsec-1234"}}}),
        )
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    let mut fields = response.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "config.post_meeting_webhook.secret",
            "config.post_meeting_webhook.url"
        ]
    );
    let tenants_after = app.get("/api/v1/tenants").master().send().await;
    assert_eq!(tenants_after.body["data"], tenants_before.body["data"]);
}

/// The webhook secret's fingerprint tells a client holding a secret whether it is the one
/// set, over HTTP, without the secret ever being returned; provider keys get none.
#[tokio::test]
async fn the_webhook_secret_fingerprint_detects_a_changed_secret_without_revealing_it() {
    use chalk_sdk::model::fingerprint;
    let app = test_app().await;
    let first = "whsec_Rmlyc3RTZWNyZXRGaXJzdFNlY3JldEZpcnN0U2VjcmV0";
    let second = "whsec_U2Vjb25kU2Vjb25kU2Vjb25kU2Vjb25kU2Vjb25kIQ==";
    let acme = app
        .create_tenant(json!({"name": "Acme", "config": {"post_meeting_webhook": {
            "url": "https://hooks.acme.edu", "secret": first,
            "ai": {"api_key": "sk-provider-0000"}}}}))
        .await;
    let fingerprint_now = |response: &Response| {
        response.body["data"]["config"]["post_meeting_webhook"]["secret_fingerprint"]
            .as_str()
            .expect("a fingerprint")
            .to_owned()
    };
    let read = app.get(&config_path(&acme)).key(&acme.key).send().await;
    read.assert_status(200);
    let fp = fingerprint_now(&read);
    assert!(fingerprint::matches(&fp, first));
    assert!(!fingerprint::matches(&fp, second));
    assert!(!read.text.contains(&first[6..]), "{}", read.text);
    assert_eq!(
        read.body["data"]["config"]["post_meeting_webhook"]["ai"],
        json!({"provider": null, "api_key": "****0000", "model": null}),
        "no fingerprint for a key a person may choose"
    );

    // Sending the same secret again changes nothing a client sees.
    let same = app
        .patch(&config_path(&acme))
        .master()
        .json(json!({"post_meeting_webhook": {"secret": first}}))
        .send()
        .await;
    same.assert_status(200);
    assert_eq!(fingerprint_now(&same), fp);

    // Another secret: the old copy no longer matches, the new one does.
    let changed = app
        .patch(&config_path(&acme))
        .master()
        .json(json!({"post_meeting_webhook": {"secret": second}}))
        .send()
        .await;
    changed.assert_status(200);
    let fp2 = fingerprint_now(&changed);
    assert!(!fingerprint::matches(&fp2, first));
    assert!(fingerprint::matches(&fp2, second));
    assert!(!changed.text.contains(&second[6..]));
}

/// A webhook endpoint's fingerprint matches the secret shown at creation, on every read,
/// and only the new secret after a rotation; the secret itself is never in a read.
#[tokio::test]
async fn an_endpoint_secret_fingerprint_follows_rotation_without_revealing_the_secret() {
    use chalk_sdk::model::fingerprint;
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let base = format!("/api/v1/tenants/{}/webhook-endpoints", acme.id);
    let created = app
        .post(&base)
        .key(&acme.key)
        .json(json!({"url": "https://hooks.acme.edu/events", "events": ["*"]}))
        .send()
        .await;
    created.assert_status(201);
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let first = created.body["data"]["secret"].as_str().unwrap().to_owned();
    let fp = |body: &Value| body["secret_fingerprint"].as_str().unwrap().to_owned();
    assert!(fingerprint::matches(&fp(&created.body["data"]), &first));

    let listed = app.get(&base).key(&acme.key).send().await;
    listed.assert_status(200);
    assert!(fingerprint::matches(&fp(&listed.body["data"][0]), &first));
    assert!(!listed.text.contains(&first[6..]), "{}", listed.text);

    let rotated = app
        .post(&format!("{base}/{id}/rotate-secret"))
        .key(&acme.key)
        .json(json!({}))
        .send()
        .await;
    rotated.assert_status(200);
    let second = rotated.body["data"]["secret"].as_str().unwrap().to_owned();
    let read = app.get(&format!("{base}/{id}")).key(&acme.key).send().await;
    read.assert_status(200);
    assert!(!fingerprint::matches(&fp(&read.body["data"]), &first));
    assert!(fingerprint::matches(&fp(&read.body["data"]), &second));
    assert!(!read.text.contains(&second[6..]));
}
