use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::common::{Env, MASTER_KEY, fails, json_ok, run};

const URL: &str = "https://hooks.example.com/chalk";

#[test]
fn endpoints_from_create_to_delete() {
    let env = Env::new();
    let (id, _) = env.create_tenant("Hooks Co");
    let created = json_ok(env.master().args([
        "webhooks",
        "endpoints",
        "create",
        &id,
        "--url",
        URL,
        "--event",
        "room.ended,meeting.ended",
    ]));
    let endpoint = created["id"].as_str().unwrap().to_owned();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(
        created["events"],
        serde_json::json!(["room.ended", "meeting.ended"])
    );

    let table = run(env.master().args([
        "-o",
        "table",
        "webhooks",
        "endpoints",
        "create",
        &id,
        "--url",
        URL,
        "--event",
        "*",
    ]));
    assert!(table.stdout.contains("SHOWN ONCE"), "{}", table.stdout);

    let listed = json_ok(env.master().args(["webhooks", "endpoints", "list", &id]));
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e.get("secret").is_none())
    );

    let updated = json_ok(env.master().args([
        "webhooks",
        "endpoints",
        "update",
        &id,
        &endpoint,
        "--disable",
        "--description",
        "ops",
    ]));
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["description"], "ops");
    fails(
        env.master()
            .args(["webhooks", "endpoints", "update", &id, &endpoint]),
        2,
    );
    let got = json_ok(
        env.master()
            .args(["webhooks", "endpoints", "get", &id, &endpoint]),
    );
    assert_eq!(got["enabled"], false);

    let rotated = json_ok(env.master().args([
        "webhooks",
        "endpoints",
        "rotate-secret",
        &id,
        &endpoint,
        "--expire-previous-in",
        "60",
    ]));
    assert!(rotated["secret"].as_str().unwrap().starts_with("whsec_"));
    assert!(rotated["previous_secret_expires_at"].is_string());

    let test = json_ok(
        env.master()
            .args(["webhooks", "endpoints", "test", &id, &endpoint]),
    );
    let delivery = test["delivery_id"].as_str().unwrap().to_owned();
    let log = json_ok(env.master().args([
        "webhooks",
        "deliveries",
        "list",
        &id,
        "--endpoint",
        &endpoint,
    ]));
    assert_eq!(log[0]["id"], delivery.as_str());
    assert_eq!(log[0]["event_type"], "webhook.test");
    fails(
        env.master()
            .args(["webhooks", "deliveries", "list", &id, "--status", "lost"]),
        2,
    );
    fails(
        env.master()
            .args(["webhooks", "deliveries", "retry", &id, "whd_missing"]),
        5,
    );
    fails(
        env.master().args([
            "webhooks",
            "endpoints",
            "create",
            &id,
            "--url",
            "http://10.0.0.1/x",
            "--event",
            "*",
        ]),
        7,
    );

    fails(
        env.master()
            .args(["webhooks", "endpoints", "delete", &id, &endpoint]),
        2,
    );
    let deleted =
        json_ok(
            env.master()
                .args(["webhooks", "endpoints", "delete", &id, &endpoint, "--yes"]),
        );
    assert_eq!(deleted["deleted"], true);
    fails(
        env.master()
            .args(["webhooks", "endpoints", "get", &id, &endpoint]),
        5,
    );
}

#[test]
fn events_list_and_tail() {
    let env = Env::new();
    let (id, key) = env.create_tenant("Events Co");
    json_ok(env.tenant(&key).args(["rooms", "create", "--id", "first"]));
    let listed = json_ok(
        env.master()
            .args(["events", "list", &id, "--type", "room.created"]),
    );
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["data"]["id"], "room_first");
    fails(
        env.master()
            .args(["events", "list", &id, "--type", "room.nope"]),
        2,
    );

    // `tail` prints the latest event, then follows, one JSON document per line.
    let mut tail = std::process::Command::new(assert_cmd::cargo::cargo_bin("chalk"))
        .env_clear()
        .env("CHALK_API_URL", &env.server.base_url)
        .env("CHALK_CONFIG_DIR", env.config.path())
        .env("CHALK_CREDENTIAL_STORE", "file")
        .env("CHALK_MASTER_KEY", MASTER_KEY)
        .args([
            "events",
            "tail",
            &id,
            "-o",
            "json",
            "--interval",
            "1",
            "--last",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stdout = tail.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let next = || -> Value {
        let line = lines.recv_timeout(Duration::from_secs(15)).expect("a line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    assert_eq!(next()["data"]["id"], "room_first", "the latest event first");
    json_ok(env.tenant(&key).args(["rooms", "create", "--id", "second"]));
    json_ok(env.tenant(&key).args(["rooms", "end", "second", "--yes"]));
    let types: Vec<Value> = (0..3).map(|_| next()["type"].clone()).collect();
    assert_eq!(types, ["room.created", "room.ended", "meeting.ended"]);
    assert!(tail.try_wait().unwrap().is_none(), "still following");
    tail.kill().unwrap();
    let _ = tail.wait();
}
