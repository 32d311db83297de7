use crate::common::{Env, fails, json_ok, run};

#[test]
fn set_parses_values_by_type_and_unset_restores_defaults() {
    let env = Env::new();
    let (id, key) = env.create_tenant("Config Co");

    let set = json_ok(env.master().args([
        "config",
        "set",
        &id,
        "force_recording=true",
        "recording_retention_days=90",
        "transcription_language=es-ES",
        "allowed_origins=https://app.acme.edu, http://localhost:*",
        "post_meeting_webhook.enabled=true",
        "post_meeting_webhook.url=https://hooks.acme.edu/chalk",
        "post_meeting_webhook.secret=whsec_abcdefghijklmnopqrstuvwxyzAB1234",
    ]));
    let config = &set["config"];
    assert_eq!(config["force_recording"], true);
    assert_eq!(config["recording_retention_days"], 90);
    assert_eq!(config["transcription_language"], "es-ES");
    assert_eq!(
        config["allowed_origins"],
        serde_json::json!(["https://app.acme.edu", "http://localhost:*"])
    );
    assert_eq!(
        config["post_meeting_webhook"]["url"],
        "https://hooks.acme.edu/chalk"
    );
    assert_eq!(config["post_meeting_webhook"]["secret"], "****1234");

    // The tenant itself reads the same config with its own key.
    let got = json_ok(env.tenant(&key).args(["config", "get", &id]));
    assert_eq!(got["config"], *config);

    let unset = json_ok(env.master().args([
        "config",
        "unset",
        &id,
        "allowed_origins",
        "transcription_language",
        "force_recording",
    ]));
    assert_eq!(unset["config"]["allowed_origins"], serde_json::json!([]));
    assert_eq!(unset["config"]["transcription_language"], "en-US");
    assert_eq!(unset["config"]["force_recording"], false);
    assert_eq!(unset["config"]["recording_retention_days"], 90, "untouched");

    let table = run(env.master().args(["-o", "table", "config", "get", &id]));
    assert_eq!(table.code, 0);
    assert!(
        table.stdout.contains("post_meeting_webhook.url"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("etag"), "{}", table.stdout);
    assert!(!table.stdout.contains("whsec_"), "secrets stay masked");
}

#[test]
fn patch_files_and_stdin() {
    let env = Env::new();
    let (id, _) = env.create_tenant("File Co");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("patch.json");
    std::fs::write(
        &path,
        r#"{"empty_room_timeout_minutes": 15, "transcription_keywords": ["osmosis"]}"#,
    )
    .unwrap();

    // Pairs override the file's fields.
    let out = json_ok(env.master().args([
        "config",
        "set",
        &id,
        "--file",
        path.to_str().unwrap(),
        "empty_room_timeout_minutes=20",
    ]));
    assert_eq!(out["config"]["empty_room_timeout_minutes"], 20);
    assert_eq!(
        out["config"]["transcription_keywords"],
        serde_json::json!(["osmosis"])
    );

    let out = json_ok(
        env.master()
            .args(["config", "set", &id, "--file", "-"])
            .write_stdin(r#"{"duplicate_participant_policy": "disconnect_existing"}"#),
    );
    assert_eq!(
        out["config"]["duplicate_participant_policy"],
        "disconnect_existing"
    );

    // A file with a typo is refused locally, naming the field; nothing changes.
    std::fs::write(&path, r#"{"force_recordin": true}"#).unwrap();
    let bad = fails(
        env.master()
            .args(["config", "set", &id, "--file", path.to_str().unwrap()]),
        7,
    );
    assert!(bad.stderr.contains("force_recordin"), "{}", bad.stderr);
    std::fs::write(&path, "not json").unwrap();
    fails(
        env.master()
            .args(["config", "set", &id, "--file", path.to_str().unwrap()]),
        7,
    );
    let after = json_ok(env.master().args(["config", "get", &id]));
    assert_eq!(after["config"]["force_recording"], false);
}

#[test]
fn invalid_values_exit_with_the_documented_codes() {
    let env = Env::new();
    let (id, _) = env.create_tenant("Bad Co");

    // Wrong type for the field: caught before sending.
    let local = fails(
        env.master()
            .args(["config", "set", &id, "force_recording=maybe"]),
        2,
    );
    assert!(local.stderr.contains("force_recording"), "{}", local.stderr);
    fails(
        env.master().args(["config", "set", &id, "no_such_field=1"]),
        2,
    );
    fails(
        env.master().args(["config", "unset", &id, "no_such_field"]),
        2,
    );
    fails(env.master().args(["config", "set", &id]), 2);

    // Out of range: the server's 422, every bad field and the request id on stderr.
    let server = fails(
        env.master().args([
            "config",
            "set",
            &id,
            "recording_retention_days=0",
            "allowed_origins=ftp://x",
        ]),
        7,
    );
    assert!(
        server.stderr.contains("VALIDATION_ERROR"),
        "{}",
        server.stderr
    );
    assert!(
        server.stderr.contains("recording_retention_days"),
        "{}",
        server.stderr
    );
    assert!(
        server.stderr.contains("allowed_origins"),
        "{}",
        server.stderr
    );
    assert!(server.stderr.contains("request id"), "{}", server.stderr);

    // The same error as JSON for scripts.
    let json = fails(
        env.master().args([
            "-o",
            "json",
            "config",
            "set",
            &id,
            "recording_retention_days=0",
        ]),
        7,
    );
    let body: serde_json::Value = serde_json::from_str(json.stderr.trim()).unwrap();
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    assert_eq!(body["error"]["exit_code"], 7);
    assert!(body["error"]["request_id"].is_string(), "{body}");
    assert_eq!(
        body["error"]["details"][0]["field"],
        "recording_retention_days"
    );

    let stale = fails(
        env.master().args([
            "config",
            "set",
            &id,
            "force_recording=true",
            "--if-match",
            "\"nope\"",
        ]),
        6,
    );
    assert!(
        stale.stderr.contains("PRECONDITION_FAILED"),
        "{}",
        stale.stderr
    );
    let etag = run(env.master().args(["config", "get", &id, "--etag"]));
    let etag: String = serde_json::from_str(&etag.stdout).unwrap();
    let ok = json_ok(env.master().args([
        "config",
        "set",
        &id,
        "force_recording=true",
        "--if-match",
        &etag,
    ]));
    assert_eq!(ok["config"]["force_recording"], true);
    let after = json_ok(env.master().args(["config", "get", &id]));
    assert_eq!(
        after["config"]["recording_retention_days"], 30,
        "rejected patches changed nothing"
    );
}
