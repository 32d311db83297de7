//! `chalk operator-keys create|list|revoke`, `chalk login --master` with an operator key,
//! and `chalk audit list|tail`.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::common::*;

#[test]
fn operator_keys_log_in_like_the_master_key_and_the_audit_log_names_them() {
    let env = Env::new();
    let created = json_ok(
        env.master()
            .args(["operator-keys", "create", "--name", "alice"]),
    );
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("ok_live_"), "{key}");
    let table = run(env
        .master()
        .args(["-o", "table", "operator-keys", "create", "--name", "bob"]));
    assert!(table.stdout.contains("SHOWN ONCE"), "{}", table.stdout);

    // `chalk login --master` takes the operator key as it takes the master key.
    let login = json_ok(
        env.chalk()
            .args(["login", "--master", "--api-key-stdin", "--profile", "alice"])
            .write_stdin(key.clone()),
    );
    assert_eq!(login["credential"], "master_key");
    let (tenant_id, tenant_key) = {
        let t = json_ok(env.chalk().args(["tenants", "create", "Acme"]));
        (
            t["id"].as_str().unwrap().to_owned(),
            t["api_key"].as_str().unwrap().to_owned(),
        )
    };

    let listed = json_ok(env.master().args(["operator-keys", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(!listed.to_string().contains(&key));

    // The log: the tenant created by alice, filters by actor, action and time.
    let mine = json_ok(
        env.master()
            .args(["audit", "list", "--actor", &id, "--since", "1h"]),
    );
    let actions: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["tenant.create"]);
    assert_eq!(mine[0]["actor"]["name"], "alice");
    assert_eq!(mine[0]["tenant_id"], tenant_id.as_str());
    let none = json_ok(
        env.master()
            .args(["audit", "list", "--until", "2000-01-01T00:00:00Z"]),
    );
    assert_eq!(none, serde_json::json!([]));
    let bad = fails(
        env.master()
            .args(["audit", "list", "--since", "5 fortnights"]),
        2,
    );
    assert!(bad.stderr.contains("--since"), "{}", bad.stderr);
    let table = run(env.master().args([
        "-o",
        "table",
        "audit",
        "list",
        "--action",
        "operator_key.create",
    ]));
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table.stdout.contains("operator_key.create"),
        "{}",
        table.stdout
    );

    // A tenant reads its own log with --tenant.
    let own = json_ok(
        env.tenant(&tenant_key)
            .args(["audit", "list", "--tenant", &tenant_id]),
    );
    assert!(
        own.as_array()
            .unwrap()
            .iter()
            .all(|e| e["tenant_id"] == tenant_id.as_str())
    );

    // Revoked: the stored profile is refused from the next command on.
    let revoked = json_ok(env.master().args(["operator-keys", "revoke", &id, "--yes"]));
    assert_eq!(revoked["deleted"], true);
    fails(env.chalk().args(["tenants", "list"]), 3);
}

#[test]
fn audit_tail_prints_one_json_per_line_until_interrupted() {
    let env = Env::new();
    env.create_tenant("Acme");
    let mut tail = std::process::Command::new(assert_cmd::cargo::cargo_bin("chalk"));
    tail.env_clear()
        .env("CHALK_API_URL", &env.server.base_url)
        .env("CHALK_CONFIG_DIR", env.config.path())
        .env("CHALK_MASTER_KEY", MASTER_KEY)
        .args(["audit", "tail", "--since", "1h", "--interval", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = tail.spawn().expect("spawn chalk audit tail");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["action"], "tenant.create");
    // A change made while tailing arrives as the next line.
    env.create_tenant("Beta");
    let second: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(second["action"], "tenant.create");
    assert_ne!(second["id"], first["id"]);
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "an interrupted tail exits 0");
}
