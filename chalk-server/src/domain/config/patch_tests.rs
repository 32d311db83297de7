use super::*;
use crate::domain::config::origins::*;
use crate::net::webhook_target;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chalk_sdk::model::fingerprint;
use chalk_sdk::model::{DuplicateParticipantPolicy, ProviderConfig, TenantConfig, WebhookConfig};
use serde_json::json;

const STRICT: TargetPolicy = TargetPolicy {
    allow_private: false,
};

fn sealer() -> Sealer {
    Sealer::from_base64(&Sealer::generate_key_base64()).unwrap()
}

fn patch(current: &StoredConfig, body: Value) -> Result<StoredConfig, Vec<FieldError>> {
    apply_patch(current, &body, "", &sealer(), STRICT)
}

fn ok(body: Value) -> StoredConfig {
    patch(&StoredConfig::default(), body).expect("patch should be accepted")
}

fn errors(body: Value) -> Vec<FieldError> {
    patch(&StoredConfig::default(), body).expect_err("patch should be rejected")
}

fn fields(errors: &[FieldError]) -> Vec<&str> {
    let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    fields.sort_unstable();
    fields
}

/// The single error of a rejected patch, asserting it names `field`.
fn only_error(body: Value, field: &str) -> FieldError {
    let errors = errors(body);
    assert_eq!(fields(&errors), [field], "{errors:?}");
    errors.into_iter().next().unwrap()
}

/// A valid webhook secret: `whsec_` + base64 of `bytes` bytes.
fn whsec(bytes: usize) -> String {
    format!("whsec_{}", STANDARD.encode(vec![0xa7; bytes]))
}

/// Svix's documented example secret (24 bytes).
const SEED_WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The full example of the seed's "Update Tenant Config" section.
fn seed_patch() -> Value {
    json!({
        "force_recording": true,
        "auto_start_recording": true,
        "allow_early_join": false,
        "empty_room_timeout_minutes": 15,
        "recording_retention_days": 90,
        "duplicate_participant_policy": "disconnect_existing",
        "transcription_enabled": true,
        "transcription_language": "es-ES",
        "transcription_profanity_filter": true,
        "transcription_keywords": ["chemistry", "equation", "formula"],
        "allowed_origins": ["https://app.acme.edu", "https://learn.acme.edu"],
        "usage_alerts": [{"metric": "participant_seconds", "period": "month", "threshold": 360000}],
        "post_meeting_webhook": {
            "enabled": true,
            "url": "https://api.acme.edu/webhooks/chalk",
            "secret": SEED_WEBHOOK_SECRET,
            "include_recording": true,
            "include_transcript": true,
            "include_summary": true,
            "include_action_items": true,
            "transcription": {"provider": "deepgram", "api_key": "dg_xxxxxxxxx"},
            "ai": {"provider": "openai", "api_key": "sk-xxxxxxxxx", "model": "gpt-4o"}
        }
    })
}

const SEED_SECRETS: [&str; 3] = [SEED_WEBHOOK_SECRET, "dg_xxxxxxxxx", "sk-xxxxxxxxx"];

#[test]
fn defaults_are_the_contract_defaults() {
    let stored = StoredConfig::default();
    assert_eq!(stored.to_wire(), TenantConfig::default());
    assert!(stored.allow_early_join && stored.transcription_enabled);
    assert_eq!(stored.empty_room_timeout_minutes, 30);
    assert_eq!(stored.transcription_language, "en-US");
    // An empty stored row (or an old one missing fields) loads as the defaults.
    assert_eq!(serde_json::from_str::<StoredConfig>("{}").unwrap(), stored);
}

#[test]
fn a_row_written_before_this_rewrite_still_loads() {
    // The stored form is the database's: its JSON must not change shape.
    let row = r#"{"force_recording":true,"auto_start_recording":false,
        "allow_early_join":true,"empty_room_timeout_minutes":15,
        "recording_retention_days":30,"duplicate_participant_policy":"disconnect_existing",
        "transcription_enabled":true,"transcription_language":"es-ES",
        "transcription_profanity_filter":false,"transcription_keywords":["k"],
        "allowed_origins":["https://app.acme.edu"],
        "post_meeting_webhook":{"enabled":true,"url":"https://api.acme.edu/hook",
            "secret":{"sealed":"v1.opaque","last4":"xxxx"},"include_recording":false,
            "include_transcript":false,"include_summary":true,"include_action_items":false,
            "transcription":null,"ai":{"provider":"openai","api_key":null,"model":"gpt-4o"}}}"#;
    let stored: StoredConfig = serde_json::from_str(row).unwrap();
    assert_eq!(
        stored.duplicate_participant_policy,
        DuplicateParticipantPolicy::DisconnectExisting
    );
    let hook = stored.post_meeting_webhook.as_ref().unwrap();
    assert_eq!(hook.secret.as_ref().unwrap().masked(), "****xxxx");
    assert_eq!(hook.ai.as_ref().unwrap().model.as_deref(), Some("gpt-4o"));
    let again: Value = serde_json::to_value(&stored).unwrap();
    assert_eq!(again, serde_json::from_str::<Value>(row).unwrap());
}

#[test]
fn seed_example_is_accepted_masked_and_round_trips() {
    let sealer = sealer();
    let stored = apply_patch(&StoredConfig::default(), &seed_patch(), "", &sealer, STRICT).unwrap();
    let wire = serde_json::to_value(stored.to_wire()).unwrap();
    let mut expected = seed_patch();
    let hook = &mut expected["post_meeting_webhook"];
    hook["secret"] = json!("****LaSw");
    hook["transcription"]["api_key"] = json!("****xxxx");
    hook["ai"]["api_key"] = json!("****xxxx");
    // The fingerprint is salted at random: check it against the secret, then compare.
    let fingerprint = wire["post_meeting_webhook"]["secret_fingerprint"].clone();
    let secret = seed_patch()["post_meeting_webhook"]["secret"].clone();
    assert!(fingerprint::matches(
        fingerprint.as_str().unwrap(),
        secret.as_str().unwrap()
    ));
    hook["secret_fingerprint"] = fingerprint;
    assert_eq!(wire, expected);

    // Through the database's JSON text and back, nothing changes and secrets open.
    let text = serde_json::to_string(&stored).unwrap();
    let loaded: StoredConfig = serde_json::from_str(&text).unwrap();
    assert_eq!(loaded, stored);
    let hook = loaded.post_meeting_webhook.clone().unwrap();
    assert_eq!(
        hook.secret.unwrap().open(&sealer).unwrap(),
        SEED_WEBHOOK_SECRET
    );
    let transcription_key = hook.transcription.unwrap().api_key.unwrap();
    assert_eq!(transcription_key.open(&sealer).unwrap(), "dg_xxxxxxxxx");
    assert_eq!(
        hook.ai.unwrap().api_key.unwrap().open(&sealer).unwrap(),
        "sk-xxxxxxxxx"
    );

    // Applying the same patch again gives the same visible config.
    let again = apply_patch(&loaded, &seed_patch(), "", &sealer, STRICT).unwrap();
    assert_eq!(again.to_wire(), stored.to_wire());
}

#[test]
fn secrets_never_leave_in_plaintext() {
    let stored = ok(seed_patch());
    let outputs = [
        serde_json::to_string(&stored.to_wire()).unwrap(),
        serde_json::to_string(&stored).unwrap(),
        format!("{stored:?}"),
        format!("{:?}", stored.to_wire()),
    ];
    for output in &outputs {
        for secret in SEED_SECRETS {
            assert!(!output.contains(secret), "{secret} leaked in {output}");
        }
    }
}

#[test]
fn masking_is_four_stars_and_the_last_four_characters() {
    let secret = format!("{}1234", &whsec(24)[..34]);
    let stored = ok(json!({"post_meeting_webhook": {
        "secret": secret,
        "transcription": {"api_key": "ключ-ключ-ёжик"},
        "ai": {"api_key": "12345678"}
    }}));
    let hook = stored.to_wire().post_meeting_webhook.unwrap();
    assert_eq!(hook.secret.as_deref(), Some("****1234"));
    assert_eq!(
        hook.transcription.unwrap().api_key.as_deref(),
        Some("****ёжик")
    );
    assert_eq!(hook.ai.unwrap().api_key.as_deref(), Some("****5678"));
}

#[test]
fn the_patch_must_be_an_object() {
    let sealer = sealer();
    let current = StoredConfig::default();
    for bad in [json!([]), json!("x"), json!(1), json!(null)] {
        let body = apply_patch(&current, &bad, "", &sealer, STRICT).unwrap_err();
        assert_eq!(body, [FieldError::new("body", "must be a JSON object")]);
        let embedded = apply_patch(&current, &bad, "config.", &sealer, STRICT).unwrap_err();
        assert_eq!(fields(&embedded), ["config"]);
    }
}

#[test]
fn the_empty_patch_changes_nothing() {
    let current = ok(seed_patch());
    assert_eq!(patch(&current, json!({})).unwrap(), current);
}

#[test]
fn unknown_fields_are_named_at_every_level() {
    let errors = errors(json!({
        "force_recordings": true,
        "post_meeting_webhook": {
            "urll": "https://api.acme.edu/hook",
            "transcription": {"model": "x"},
            "ai": {"temperature": 0.2}
        }
    }));
    assert_eq!(
        fields(&errors),
        [
            "force_recordings",
            "post_meeting_webhook.ai.temperature",
            "post_meeting_webhook.transcription.model",
            "post_meeting_webhook.urll",
        ]
    );
    assert!(
        errors
            .iter()
            .all(|e| e.message.starts_with("unknown field `")),
        "{errors:?}"
    );
}

#[test]
fn every_wrong_type_is_reported_at_once() {
    let errors = errors(json!({
        "force_recording": "yes",
        "auto_start_recording": 1,
        "allow_early_join": "true",
        "empty_room_timeout_minutes": "30",
        "recording_retention_days": 30.5,
        "duplicate_participant_policy": 1,
        "transcription_enabled": [],
        "transcription_language": 5,
        "transcription_profanity_filter": {},
        "transcription_keywords": "chemistry",
        "allowed_origins": "https://app.acme.edu",
        "post_meeting_webhook": {
            "enabled": "on",
            "url": 42,
            "secret": 12345678,
            "include_recording": 0,
            "include_transcript": "no",
            "include_summary": [],
            "include_action_items": {},
            "transcription": {"provider": 1, "api_key": true},
            "ai": {"provider": [], "api_key": {}, "model": 4}
        }
    }));
    let mut expected = vec![
        "force_recording",
        "auto_start_recording",
        "allow_early_join",
        "empty_room_timeout_minutes",
        "recording_retention_days",
        "duplicate_participant_policy",
        "transcription_enabled",
        "transcription_language",
        "transcription_profanity_filter",
        "transcription_keywords",
        "allowed_origins",
        "post_meeting_webhook.enabled",
        "post_meeting_webhook.url",
        "post_meeting_webhook.secret",
        "post_meeting_webhook.include_recording",
        "post_meeting_webhook.include_transcript",
        "post_meeting_webhook.include_summary",
        "post_meeting_webhook.include_action_items",
        "post_meeting_webhook.transcription.provider",
        "post_meeting_webhook.transcription.api_key",
        "post_meeting_webhook.ai.provider",
        "post_meeting_webhook.ai.api_key",
        "post_meeting_webhook.ai.model",
    ];
    expected.sort_unstable();
    assert_eq!(fields(&errors), expected);
    let message = |field: &str| &errors.iter().find(|e| e.field == field).unwrap().message;
    assert_eq!(
        message("force_recording"),
        "invalid type: string \"yes\", expected a boolean"
    );
    assert!(message("transcription_keywords").ends_with("expected a sequence"));
}

#[test]
fn type_errors_and_rule_errors_are_reported_together() {
    let errors = errors(json!({
        "force_recording": "yes",
        "empty_room_timeout_minutes": 0,
        "post_meeting_webhook": {"enabled": "on", "url": "https://169.254.169.254/"}
    }));
    assert_eq!(
        fields(&errors),
        [
            "empty_room_timeout_minutes",
            "force_recording",
            "post_meeting_webhook.enabled",
            "post_meeting_webhook.url",
        ]
    );
}

#[test]
fn a_flood_of_bad_fields_is_cut_short() {
    let flood: serde_json::Map<String, Value> =
        (0..1000).map(|i| (format!("bogus{i}"), json!(1))).collect();
    let errors = errors(Value::Object(flood));
    assert_eq!(errors.len(), MAX_TYPE_ERRORS);
    assert!(errors.iter().all(|e| e.field.starts_with("bogus")));
}

#[test]
fn nested_objects_must_be_objects_or_null() {
    for field in ["transcription", "ai"] {
        let error = only_error(
            json!({"post_meeting_webhook": {field: "deepgram"}}),
            &format!("post_meeting_webhook.{field}"),
        );
        assert_eq!(
            error.message,
            "invalid type: string \"deepgram\", expected an object or null"
        );
    }
    only_error(
        json!({"post_meeting_webhook": true}),
        "post_meeting_webhook",
    );
}

#[test]
fn integers_are_range_checked() {
    let cases = [
        ("empty_room_timeout_minutes", 1, 1440),
        ("recording_retention_days", 1, 3650),
    ];
    for (field, lo, hi) in cases {
        let at_lo = ok(json!({field: lo}));
        let at_hi = ok(json!({field: hi}));
        let read = |c: &StoredConfig| match field {
            "empty_room_timeout_minutes" => c.empty_room_timeout_minutes,
            _ => c.recording_retention_days,
        };
        assert_eq!((read(&at_lo), read(&at_hi)), (lo, hi));
        for bad in [lo - 1, hi + 1, -5] {
            let error = only_error(json!({field: bad}), field);
            assert_eq!(error.message, format!("must be between {lo} and {hi}"));
        }
        let error = only_error(json!({field: u64::MAX}), field);
        assert!(error.message.ends_with("expected i64"), "{error:?}");
        let error = only_error(json!({field: 15.5}), field);
        assert!(error.message.contains("floating point"), "{error:?}");
    }
}

#[test]
fn duplicate_participant_policy_values() {
    assert_eq!(
        ok(json!({"duplicate_participant_policy": "disconnect_existing"}))
            .duplicate_participant_policy,
        DuplicateParticipantPolicy::DisconnectExisting
    );
    assert_eq!(
        ok(json!({"duplicate_participant_policy": "reject"})).duplicate_participant_policy,
        DuplicateParticipantPolicy::Reject
    );
    for bad in ["Reject", "kick", ""] {
        let error = only_error(
            json!({"duplicate_participant_policy": bad}),
            "duplicate_participant_policy",
        );
        assert!(error.message.contains("`reject` or `disconnect_existing`"));
    }
}

#[test]
fn language_tags() {
    let accepted = [
        ("en", "en"),
        ("en-US", "en-US"),
        ("es-ES", "es-ES"),
        ("zh-Hans-CN", "zh-Hans-CN"),
        ("ZH-hans-cn", "zh-Hans-CN"),
        ("en-us", "en-US"),
        ("es-419", "es-419"),
        ("sl-rozaj", "sl-rozaj"),
        ("de-CH-1901", "de-CH-1901"),
        ("fil", "fil"),
    ];
    for (input, canonical) in accepted {
        assert_eq!(
            ok(json!({"transcription_language": input})).transcription_language,
            canonical
        );
    }
    let rejected = [
        "english", "en_US", "e", "", "en-", "-US", "en--US", "en-U", "en-USA1", "e1", "en-US-x",
        " en",
    ];
    for input in rejected {
        only_error(
            json!({"transcription_language": input}),
            "transcription_language",
        );
    }
}

#[test]
fn keywords_are_limited_and_trimmed() {
    assert_eq!(
        ok(json!({"transcription_keywords": [" chemistry ", "x"]})).transcription_keywords,
        ["chemistry", "x"]
    );
    let hundred: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
    assert_eq!(
        ok(json!({"transcription_keywords": hundred}))
            .transcription_keywords
            .len(),
        100
    );

    let too_many: Vec<String> = (0..101).map(|i| format!("k{i}")).collect();
    only_error(
        json!({"transcription_keywords": too_many}),
        "transcription_keywords",
    );

    // A non-string entry does not hide the rule errors of its siblings, nor shift
    // their indices; each entry is named once.
    let errors = errors(json!({"transcription_keywords": [
        "fine", "", "   ", "x".repeat(101), 7, "y".repeat(100), null, ""
    ]}));
    assert_eq!(
        fields(&errors),
        [
            "transcription_keywords[1]",
            "transcription_keywords[2]",
            "transcription_keywords[3]",
            "transcription_keywords[4]",
            "transcription_keywords[6]",
            "transcription_keywords[7]",
        ]
    );
    let seven = errors
        .iter()
        .find(|e| e.field == "transcription_keywords[4]")
        .unwrap();
    assert_eq!(
        seven.message,
        "invalid type: integer `7`, expected a string"
    );
}

#[test]
fn origins_are_normalized_and_deduplicated() {
    let stored = ok(json!({"allowed_origins": [
        "https://App.Acme.EDU",
        "HTTPS://app.acme.edu/",
        "https://app.acme.edu:443",
        "http://localhost:3000",
        "https://learn.acme.edu:8443",
        "http://LOCALHOST:3000",
        "http://[::1]:8080",
    ]}));
    assert_eq!(
        stored.allowed_origins,
        [
            "https://app.acme.edu",
            "http://localhost:3000",
            "https://learn.acme.edu:8443",
            "http://[::1]:8080",
        ]
    );
}

#[test]
fn the_localhost_port_wildcard_is_the_only_wildcard() {
    let stored = ok(json!({"allowed_origins": [
        "http://localhost:*", "https://LOCALHOST:*/", "http://localhost:*"
    ]}));
    assert_eq!(
        stored.allowed_origins,
        ["http://localhost:*", "https://localhost:*"]
    );

    for bad in [
        "https://*.acme.edu",
        "*",
        "http://*",
        "http://*:3000",
        "https://app.acme.edu:*",
        "http://127.0.0.1:*",
    ] {
        let error = only_error(json!({"allowed_origins": [bad]}), "allowed_origins[0]");
        assert_eq!(error.message, ORIGIN_WILDCARD, "{bad}");
    }
}

#[test]
fn origins_reject_anything_but_scheme_host_port() {
    let bad = [
        ("https://app.acme.edu/path", ORIGIN_PATH),
        ("https://app.acme.edu//", ORIGIN_PATH),
        ("https://app.acme.edu?x=1", ORIGIN_PATH),
        ("https://app.acme.edu#top", ORIGIN_PATH),
        ("https://user:pw@app.acme.edu", ORIGIN_USERINFO),
        ("ftp://app.acme.edu", ORIGIN_SCHEME),
        ("app.acme.edu", NOT_AN_ORIGIN),
        ("https://", NOT_AN_ORIGIN),
        ("https://app acme.edu", NOT_AN_ORIGIN),
        ("https://app.acme.edu:99999", NOT_AN_ORIGIN),
        ("", NOT_AN_ORIGIN),
    ];
    let list: Vec<&str> = bad.iter().map(|(origin, _)| *origin).collect();
    let errors = errors(json!({"allowed_origins": list}));
    assert_eq!(errors.len(), bad.len(), "{errors:?}");
    for (index, (origin, message)) in bad.iter().enumerate() {
        let error = &errors[index];
        assert_eq!(error.field, format!("allowed_origins[{index}]"), "{origin}");
        assert_eq!(error.message, *message, "{origin}");
    }
}

#[test]
fn at_most_twenty_distinct_origins() {
    let twenty: Vec<String> = (0..20).map(|i| format!("https://a{i}.acme.edu")).collect();
    let mut with_duplicates = twenty.clone();
    with_duplicates.extend(twenty.iter().map(|o| o.to_uppercase()));
    assert_eq!(
        ok(json!({"allowed_origins": with_duplicates})).allowed_origins,
        twenty
    );

    let mut twenty_one = twenty;
    twenty_one.push("https://one-more.acme.edu".to_owned());
    only_error(json!({"allowed_origins": twenty_one}), "allowed_origins");
}

#[test]
fn webhook_url_rules() {
    for url in [
        "https://api.acme.edu/webhooks/chalk",
        "https://api.acme.edu:8443/hook?team=1",
        "https://93.184.216.34/hook",
    ] {
        let stored = ok(json!({"post_meeting_webhook": {"url": url}}));
        assert_eq!(
            stored.post_meeting_webhook.unwrap().url.as_deref(),
            Some(url)
        );
    }
    let refused = [
        ("http://api.acme.edu/hook", webhook_target::HTTPS_REQUIRED),
        ("http://example.com", webhook_target::HTTPS_REQUIRED),
        ("ftp://api.acme.edu/hook", webhook_target::HTTPS_REQUIRED),
        (
            "https://169.254.169.254/latest/meta-data",
            webhook_target::PRIVATE_TARGET,
        ),
        ("https://10.0.0.1/hook", webhook_target::PRIVATE_TARGET),
        ("https://[::1]/hook", webhook_target::PRIVATE_TARGET),
        ("http://localhost:9000/hook", webhook_target::PRIVATE_TARGET),
        ("http://127.0.0.1/hook", webhook_target::PRIVATE_TARGET),
        ("api.acme.edu/hook", NOT_A_URL),
        ("not a url", NOT_A_URL),
        ("", NOT_A_URL),
        ("https://", NOT_A_URL),
        ("mailto:ops@acme.edu", NOT_A_URL),
    ];
    for (url, message) in refused {
        let error = only_error(
            json!({"post_meeting_webhook": {"url": url}}),
            "post_meeting_webhook.url",
        );
        assert_eq!(error.message, message, "{url}");
    }
    let long = format!("https://acme.edu/{}", "a".repeat(MAX_URL_CHARS));
    only_error(
        json!({"post_meeting_webhook": {"url": long}}),
        "post_meeting_webhook.url",
    );
}

#[test]
fn private_targets_only_when_the_operator_allows_them() {
    let dev = TargetPolicy {
        allow_private: true,
    };
    for url in [
        "http://localhost:9000/hook",
        "http://127.0.0.1/hook",
        "https://10.0.0.1/hook",
    ] {
        let body = json!({"post_meeting_webhook": {"url": url}});
        let stored = apply_patch(&StoredConfig::default(), &body, "", &sealer(), dev).unwrap();
        assert_eq!(
            stored.post_meeting_webhook.unwrap().url.as_deref(),
            Some(url)
        );
    }
    // Plain http to a public address stays refused.
    let body = json!({"post_meeting_webhook": {"url": "http://93.184.216.34/hook"}});
    let errors = apply_patch(&StoredConfig::default(), &body, "", &sealer(), dev).unwrap_err();
    assert_eq!(fields(&errors), ["post_meeting_webhook.url"]);
}

#[test]
fn enabled_requires_a_url() {
    let error = only_error(
        json!({"post_meeting_webhook": {"enabled": true}}),
        "post_meeting_webhook.url",
    );
    assert_eq!(error.message, "required when enabled is true");

    // A bad url is reported once, for being bad.
    let error = only_error(
        json!({"post_meeting_webhook": {"enabled": true, "url": "http://acme.edu"}}),
        "post_meeting_webhook.url",
    );
    assert_eq!(error.message, webhook_target::HTTPS_REQUIRED);
    let error = only_error(
        json!({"post_meeting_webhook": {"enabled": true, "url": 7}}),
        "post_meeting_webhook.url",
    );
    assert!(error.message.starts_with("invalid type"), "{error:?}");

    // A url already stored satisfies it; removing the url of an enabled hook does not.
    let current = ok(json!({"post_meeting_webhook": {"url": "https://acme.edu/hook"}}));
    let enabled = patch(&current, json!({"post_meeting_webhook": {"enabled": true}})).unwrap();
    assert!(enabled.post_meeting_webhook.as_ref().unwrap().enabled);
    let errors = patch(&enabled, json!({"post_meeting_webhook": {"url": null}})).unwrap_err();
    assert_eq!(fields(&errors), ["post_meeting_webhook.url"]);
}

#[test]
fn the_webhook_secret_is_whsec_and_base64_of_24_to_64_bytes() {
    for secret in [
        whsec(24),
        whsec(32),
        whsec(64),
        SEED_WEBHOOK_SECRET.to_owned(),
    ] {
        let stored = ok(json!({"post_meeting_webhook": {"secret": secret}}));
        let sealed = stored.post_meeting_webhook.unwrap().secret.unwrap();
        assert_eq!(sealed.last4, secret[secret.len() - 4..]);
    }
    let base64_of_32 = STANDARD.encode([1u8; 32]);
    for secret in [
        whsec(23),
        whsec(65),
        base64_of_32.clone(),
        format!("WHSEC_{base64_of_32}"),
        format!("whsec_{base64_of_32}!"),
        format!("whsec_{}", base64_of_32.trim_end_matches('=')),
        "whsec_abcdefgh1234".to_owned(),
        "whsec_topsecret_123_with_underscores_that_are_long".to_owned(),
        "a-plain-shared-secret-of-some-length".to_owned(),
        String::new(),
    ] {
        let error = only_error(
            json!({"post_meeting_webhook": {"secret": secret}}),
            "post_meeting_webhook.secret",
        );
        assert_eq!(
            error.message,
            "must be whsec_ followed by the base64 of 24 to 64 bytes"
        );
    }
}

#[test]
fn provider_fields_lengths() {
    let hook = |body: Value| json!({"post_meeting_webhook": body});
    ok(hook(json!({
        "transcription": {"provider": "p", "api_key": "k".repeat(512)},
        "ai": {"provider": "p".repeat(64), "api_key": "12345678", "model": "m".repeat(128)}
    })));
    let errors = errors(hook(json!({
        "transcription": {"provider": " ", "api_key": "k".repeat(513)},
        "ai": {"provider": "p".repeat(65), "api_key": "1234567", "model": "m".repeat(129)}
    })));
    assert_eq!(
        fields(&errors),
        [
            "post_meeting_webhook.ai.api_key",
            "post_meeting_webhook.ai.model",
            "post_meeting_webhook.ai.provider",
            "post_meeting_webhook.transcription.api_key",
            "post_meeting_webhook.transcription.provider",
        ]
    );
    // Providers and models are stored trimmed.
    let stored = ok(hook(
        json!({"ai": {"provider": " openai ", "model": " gpt-4o "}}),
    ));
    let ai = stored.post_meeting_webhook.unwrap().ai.unwrap();
    assert_eq!(
        (ai.provider.as_deref(), ai.model.as_deref()),
        (Some("openai"), Some("gpt-4o"))
    );
}

#[test]
fn several_bad_fields_are_all_reported_and_nothing_is_applied() {
    let current = ok(seed_patch());
    let errors = patch(
        &current,
        json!({
            "force_recording": false,
            "empty_room_timeout_minutes": 0,
            "transcription_language": "english",
            "allowed_origins": ["https://ok.acme.edu", "https://*.acme.edu"],
            "post_meeting_webhook": {"url": "http://acme.edu", "bogus": true}
        }),
    )
    .unwrap_err();
    assert_eq!(
        fields(&errors),
        [
            "allowed_origins[1]",
            "empty_room_timeout_minutes",
            "post_meeting_webhook.bogus",
            "post_meeting_webhook.url",
            "transcription_language",
        ]
    );
}

#[test]
fn field_prefix_is_applied_to_every_path() {
    let sealer = sealer();
    let body = json!({
        "allowed_origins": ["https://ok.acme.edu", "https://ok.acme.edu/x"],
        "colour": "blue",
        "post_meeting_webhook": {"ai": {"model": ""}, "urll": "x"}
    });
    let errors =
        apply_patch(&StoredConfig::default(), &body, "config.", &sealer, STRICT).unwrap_err();
    assert_eq!(
        fields(&errors),
        [
            "config.allowed_origins[1]",
            "config.colour",
            "config.post_meeting_webhook.ai.model",
            "config.post_meeting_webhook.urll",
        ]
    );
}

#[test]
fn a_partial_patch_keeps_everything_else() {
    let current = ok(seed_patch());
    let next = patch(&current, json!({"empty_room_timeout_minutes": 10})).unwrap();
    let mut expected = current.clone();
    expected.empty_room_timeout_minutes = 10;
    assert_eq!(next, expected);
}

#[test]
fn nested_objects_merge_and_keep_their_siblings() {
    let current = ok(seed_patch());
    let next = patch(
        &current,
        json!({"post_meeting_webhook": {"enabled": false, "ai": {"model": "gpt-4.1"}}}),
    )
    .unwrap();
    let before = current.post_meeting_webhook.unwrap();
    let after = next.post_meeting_webhook.unwrap();
    assert!(!after.enabled);
    assert_eq!(after.url, before.url);
    // Secrets left out keep their sealed value exactly.
    assert_eq!(after.secret, before.secret);
    assert_eq!(after.transcription, before.transcription);
    let (ai_before, ai_after) = (before.ai.unwrap(), after.ai.unwrap());
    assert_eq!(ai_after.model.as_deref(), Some("gpt-4.1"));
    assert_eq!(ai_after.provider, ai_before.provider);
    assert_eq!(ai_after.api_key, ai_before.api_key);
    assert!(after.include_recording && after.include_action_items);
}

#[test]
fn a_new_secret_replaces_the_old_one() {
    let sealer = sealer();
    let current =
        apply_patch(&StoredConfig::default(), &seed_patch(), "", &sealer, STRICT).unwrap();
    let new_secret = format!("{}9876", &whsec(30)[..42]);
    let body = json!({"post_meeting_webhook": {"secret": new_secret}});
    let next = apply_patch(&current, &body, "", &sealer, STRICT).unwrap();
    let secret = next.post_meeting_webhook.unwrap().secret.unwrap();
    assert_eq!(secret.last4, "9876");
    assert_eq!(secret.open(&sealer).unwrap(), new_secret);
}

#[test]
fn null_resets_to_the_default() {
    let current = ok(seed_patch());
    // Every field listed (no `..Default::default()`): a new field must be added here.
    let all_null = ConfigPatch {
        force_recording: Patch::Reset,
        auto_start_recording: Patch::Reset,
        allow_early_join: Patch::Reset,
        empty_room_timeout_minutes: Patch::Reset,
        recording_retention_days: Patch::Reset,
        duplicate_participant_policy: Patch::Reset,
        transcription_enabled: Patch::Reset,
        transcription_language: Patch::Reset,
        transcription_profanity_filter: Patch::Reset,
        transcription_keywords: Patch::Reset,
        allowed_origins: Patch::Reset,
        post_meeting_webhook: Patch::Reset,
        usage_alerts: Patch::Reset,
    };
    let body = serde_json::to_value(all_null).unwrap();
    assert_eq!(body.as_object().unwrap().len(), 13);
    assert_eq!(patch(&current, body).unwrap(), StoredConfig::default());
}

#[test]
fn null_inside_the_webhook_removes_or_resets() {
    let current = ok(seed_patch());
    let next = patch(
        &current,
        json!({"post_meeting_webhook": {
            "enabled": null,
            "secret": null,
            "include_recording": null,
            "transcription": null,
            "ai": {"api_key": null}
        }}),
    )
    .unwrap();
    let hook = next.post_meeting_webhook.unwrap();
    assert!(!hook.enabled && !hook.include_recording);
    assert_eq!(hook.secret, None);
    assert_eq!(hook.transcription, None);
    let ai = hook.ai.unwrap();
    assert_eq!(ai.api_key, None);
    assert_eq!(ai.model.as_deref(), Some("gpt-4o"));
    assert_eq!(
        hook.url.as_deref(),
        Some("https://api.acme.edu/webhooks/chalk")
    );
    assert!(hook.include_transcript);
}

#[test]
fn a_webhook_object_starts_from_the_defaults() {
    let stored = ok(json!({"post_meeting_webhook": {"transcription": {}}}));
    let hook = stored.to_wire().post_meeting_webhook.unwrap();
    assert_eq!(
        hook,
        WebhookConfig {
            transcription: Some(ProviderConfig::default()),
            ..WebhookConfig::default()
        }
    );
}

#[test]
fn sealed_secret_debug_shows_only_the_mask() {
    let secret = SealedSecret::seal(&sealer(), "super-secret-value");
    let debug = format!("{secret:?}");
    assert_eq!(debug, "SealedSecret(\"****alue\")");
    assert!(!debug.contains(&secret.sealed));
}

#[test]
fn a_webhook_secret_gets_a_fingerprint_that_only_its_plaintext_matches() {
    let sealer = sealer();
    let patch =
        |current: &StoredConfig, body: Value| apply_patch(current, &body, "", &sealer, STRICT);
    let secret = whsec(32);
    let stored = patch(
        &StoredConfig::default(),
        json!({"post_meeting_webhook": {"secret": secret, "ai": {"api_key": "sk-provider-key"}}}),
    )
    .unwrap();
    let hook = stored.to_wire().post_meeting_webhook.unwrap();
    let fp = hook.secret_fingerprint.expect("a fingerprint");
    assert!(fingerprint::matches(&fp, &secret));
    assert!(!fingerprint::matches(&fp, &whsec(33)));
    assert!(
        !fp.contains(&secret[6..]),
        "the fingerprint holds no part of the secret"
    );
    // A provider key may be guessable: it gets none.
    let sealed = stored.post_meeting_webhook.as_ref().unwrap();
    assert_eq!(
        sealed
            .ai
            .as_ref()
            .unwrap()
            .api_key
            .as_ref()
            .unwrap()
            .fingerprint,
        None
    );

    // The same secret again keeps the fingerprint; another one replaces it.
    let same = patch(&stored, json!({"post_meeting_webhook": {"secret": secret}})).unwrap();
    assert_eq!(same.to_wire(), stored.to_wire());
    let other = patch(
        &stored,
        json!({"post_meeting_webhook": {"secret": whsec(33)}}),
    )
    .unwrap();
    let other_fp = other
        .to_wire()
        .post_meeting_webhook
        .unwrap()
        .secret_fingerprint
        .unwrap();
    assert_ne!(other_fp, fp);
    assert!(fingerprint::matches(&other_fp, &whsec(33)));
}

#[test]
fn usage_alerts_are_checked_entry_by_entry_with_every_error_named() {
    use chalk_sdk::model::{AlertPeriod, UsageAlert, UsageMetric};
    let next = ok(json!({"usage_alerts": [
        {"metric": "api_requests", "period": "day", "threshold": 1000},
        {"metric": "participant_seconds", "period": "month", "threshold": 360000},
        {"metric": "api_requests", "period": "day", "threshold": 1000}
    ]}));
    assert_eq!(
        next.usage_alerts,
        vec![
            UsageAlert {
                metric: UsageMetric::ApiRequests,
                period: AlertPeriod::Day,
                threshold: 1000
            },
            UsageAlert {
                metric: UsageMetric::ParticipantSeconds,
                period: AlertPeriod::Month,
                threshold: 360000
            },
        ],
        "identical entries kept once"
    );
    assert_eq!(next.to_wire().usage_alerts, next.usage_alerts);
    // Every bad entry and field at once, beside the other fields' errors.
    let refused = errors(json!({
        "empty_room_timeout_minutes": 0,
        "usage_alerts": [
            {"metric": "minutes", "period": "week", "threshold": 0},
            "api_requests",
            {"period": "day", "threshold": 5, "extra": true},
            {"metric": "api_requests", "period": "day", "threshold": 1.5}
        ]
    }));
    assert_eq!(
        fields(&refused),
        vec![
            "empty_room_timeout_minutes",
            "usage_alerts[0].metric",
            "usage_alerts[0].period",
            "usage_alerts[0].threshold",
            "usage_alerts[1]",
            "usage_alerts[2].extra",
            "usage_alerts[2].metric",
            "usage_alerts[3].threshold",
        ]
    );
    let eleven: Vec<Value> = (1..=11)
        .map(|n| json!({"metric": "api_requests", "period": "day", "threshold": n}))
        .collect();
    only_error(json!({"usage_alerts": eleven}), "usage_alerts");
    only_error(json!({"usage_alerts": "often"}), "usage_alerts");
    // null: back to none.
    let current = ok(seed_patch());
    assert_eq!(current.usage_alerts.len(), 1);
    assert!(
        patch(&current, json!({"usage_alerts": null}))
            .unwrap()
            .usage_alerts
            .is_empty()
    );
    // Absent: kept.
    assert_eq!(
        patch(&current, json!({"force_recording": false}))
            .unwrap()
            .usage_alerts,
        current.usage_alerts
    );
}
