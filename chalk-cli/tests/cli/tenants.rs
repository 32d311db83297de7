use crate::common::{Env, fails, json_ok, run};

#[test]
fn a_tenant_lifecycle_in_json() {
    let env = Env::new();
    let created = json_ok(env.master().args([
        "tenants",
        "create",
        "Acme University",
        "--email",
        "ops@acme.edu",
        "--max-concurrent-rooms",
        "50",
    ]));
    let id = created["id"].as_str().unwrap().to_owned();
    let key = created["api_key"].as_str().unwrap().to_owned();
    assert!(id.starts_with("tenant_"), "{created}");
    assert!(key.starts_with("sk_live_"), "{created}");
    assert_eq!(created["max_concurrent_rooms"], 50);
    assert_eq!(created["email"], "ops@acme.edu");

    let got = json_ok(env.master().args(["tenants", "get", &id]));
    assert_eq!(got["name"], "Acme University");
    assert!(
        got.get("api_key").is_none(),
        "the key is shown only once: {got}"
    );

    let listed = json_ok(env.master().args(["tenants", "list"]));
    assert!(
        listed.as_array().unwrap().iter().any(|t| t["id"] == id),
        "{listed}"
    );
    let suspended = json_ok(
        env.master()
            .args(["tenants", "list", "--status", "suspended"]),
    );
    assert_eq!(suspended.as_array().unwrap().len(), 0);

    let updated = json_ok(env.master().args([
        "tenants",
        "update",
        &id,
        "--name",
        "Acme U",
        "--clear-email",
        "--rate-limit-per-minute",
        "500",
    ]));
    assert_eq!(updated["name"], "Acme U");
    assert_eq!(updated["email"], serde_json::Value::Null);
    assert_eq!(updated["rate_limit_per_minute"], 500);

    let suspended = json_ok(env.master().args(["tenants", "suspend", &id, "--yes"]));
    assert_eq!(suspended["status"], "suspended");
    // The tenant's own key is refused while suspended.
    fails(env.tenant(&key).args(["whoami"]), 4);
    let listed = json_ok(
        env.master()
            .args(["tenants", "list", "--status", "suspended"]),
    );
    assert_eq!(listed[0]["id"], id.as_str());
    let resumed = json_ok(env.master().args(["tenants", "resume", &id]));
    assert_eq!(resumed["status"], "active");
    json_ok(env.tenant(&key).args(["whoami"]));

    let rotated = json_ok(env.master().args([
        "tenants",
        "rotate-key",
        &id,
        "--yes",
        "--expire-previous-in",
        "0",
    ]));
    let new_key = rotated["api_key"].as_str().unwrap();
    assert!(
        new_key.starts_with("sk_live_") && new_key != key,
        "{rotated}"
    );
    fails(env.tenant(&key).args(["whoami"]), 3);
    let me = json_ok(env.tenant(new_key).args(["whoami"]));
    assert_eq!(me["tenant"]["id"], id.as_str());

    let deleted = json_ok(env.master().args(["tenants", "delete", &id, "--yes"]));
    assert_eq!(deleted["deleted"], true);
    let gone = fails(env.master().args(["tenants", "get", &id]), 5);
    assert!(gone.stderr.contains("NOT_FOUND"), "{}", gone.stderr);
}

#[test]
fn create_is_idempotent_with_a_key_and_tables_mark_the_secret() {
    let env = Env::new();
    let first = json_ok(env.master().args([
        "tenants",
        "create",
        "CI tenant",
        "--idempotency-key",
        "ci-run-1",
    ]));
    let again = json_ok(env.master().args([
        "tenants",
        "create",
        "CI tenant",
        "--idempotency-key",
        "ci-run-1",
    ]));
    assert_eq!(first["id"], again["id"]);
    assert_eq!(first["api_key"], again["api_key"]);
    let listed = json_ok(env.master().args(["tenants", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let out = run(env
        .master()
        .args(["-o", "table", "tenants", "create", "Table Co"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("SHOWN ONCE"), "{}", out.stdout);
    let key_line = out
        .stdout
        .lines()
        .find(|l| l.trim().starts_with("sk_live_"))
        .expect("key line");
    assert_eq!(key_line.trim().len(), "sk_live_".len() + 32);
    assert!(out.stdout.contains("Table Co"));
    assert!(
        !out.stdout.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );

    let table = run(env.master().args(["-o", "table", "tenants", "list"]));
    assert_eq!(table.code, 0);
    assert!(
        table.stdout.contains("Table Co") && table.stdout.contains("CI tenant"),
        "{}",
        table.stdout
    );
    assert!(!table.stdout.contains("sk_live_"), "list never shows keys");

    let id = first["id"].as_str().unwrap();
    let etag = run(env.master().args(["tenants", "get", id, "--etag"]));
    assert_eq!(etag.code, 0);
    let etag: String = serde_json::from_str(&etag.stdout).unwrap();
    let stale = fails(
        env.master().args([
            "tenants",
            "update",
            id,
            "--name",
            "B",
            "--if-match",
            "\"stale\"",
        ]),
        6,
    );
    assert!(
        stale.stderr.contains("PRECONDITION_FAILED"),
        "{}",
        stale.stderr
    );
    let ok =
        json_ok(
            env.master()
                .args(["tenants", "update", id, "--name", "B", "--if-match", &etag]),
        );
    assert_eq!(ok["name"], "B");
    let limited = json_ok(env.master().args(["tenants", "list", "--limit", "1"]));
    assert_eq!(limited.as_array().unwrap().len(), 1);
}

#[test]
fn destructive_commands_without_yes_off_a_terminal_refuse_and_change_nothing() {
    let env = Env::new();
    let (id, key) = env.create_tenant("Keep me");

    for args in [
        vec!["tenants", "delete", id.as_str()],
        vec!["tenants", "rotate-key", id.as_str()],
        vec!["tenants", "suspend", id.as_str()],
        vec!["--no-input", "tenants", "delete", id.as_str()],
    ] {
        let out = fails(env.master().args(&args), 2);
        assert!(out.stderr.contains("--yes"), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    let tenant = json_ok(env.master().args(["tenants", "get", &id]));
    assert_eq!(tenant["status"], "active");
    // The key was not rotated away.
    json_ok(env.tenant(&key).args(["whoami"]));
}

#[test]
fn missing_required_values_off_a_terminal_are_usage_errors() {
    let env = Env::new();
    let out = fails(env.master().args(["tenants", "get"]), 2);
    assert!(out.stderr.contains("missing tenant id"), "{}", out.stderr);
    let out = fails(env.master().args(["tenants", "create"]), 2);
    assert!(out.stderr.contains("missing tenant name"), "{}", out.stderr);
    let out = fails(env.master().args(["tenants", "update", "tenant_x"]), 2);
    assert!(out.stderr.contains("nothing to change"), "{}", out.stderr);
    let listed = json_ok(env.master().args(["tenants", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 0, "nothing was created");
}

#[test]
fn external_id_is_set_listed_by_shown_and_cleared() {
    let env = Env::new();
    let created =
        json_ok(
            env.master()
                .args(["tenants", "create", "Acme", "--external-id", "acme"]),
        );
    let id = created["id"].as_str().unwrap().to_owned();
    let key = created["api_key"].as_str().unwrap().to_owned();
    assert_eq!(created["external_id"], "acme");
    let (other, _) = env.create_tenant("Other");

    let found = json_ok(
        env.master()
            .args(["tenants", "list", "--external-id", "acme"]),
    );
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["id"], id.as_str());
    let none = json_ok(
        env.master()
            .args(["tenants", "list", "--external-id", "nobody"]),
    );
    assert_eq!(none, serde_json::json!([]));
    let bad = fails(
        env.master()
            .args(["tenants", "list", "--external-id", "Acme"]),
        7,
    );
    assert!(
        bad.stderr.contains("INVALID_REQUEST") && bad.stderr.contains("external_id"),
        "{}",
        bad.stderr
    );

    // The table has the column; a tenant without one shows "-".
    let table = run(env.master().args(["-o", "table", "tenants", "list"]));
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("external_id"), "{}", table.stdout);
    let acme_row = table.stdout.lines().find(|l| l.contains(&id)).unwrap();
    assert!(acme_row.contains("acme"), "{acme_row}");
    let other_row = table.stdout.lines().find(|l| l.contains(&other)).unwrap();
    assert!(other_row.contains(" - "), "{other_row}");

    // Taken: exit 6 (conflict), naming the field.
    let taken = fails(
        env.master()
            .args(["tenants", "create", "Acme 2", "--external-id", "acme"]),
        6,
    );
    assert!(
        taken.stderr.contains("CONFLICT") && taken.stderr.contains("external_id"),
        "{}",
        taken.stderr
    );
    // The tenant's own key may not change it: exit 4, and it stays.
    let refused = fails(
        env.tenant(&key)
            .args(["tenants", "update", &id, "--external-id", "mine"]),
        4,
    );
    assert!(refused.stderr.contains("external_id"), "{}", refused.stderr);
    let refused = fails(
        env.tenant(&key)
            .args(["tenants", "update", &id, "--clear-external-id"]),
        4,
    );
    assert!(refused.stderr.contains("FORBIDDEN"), "{}", refused.stderr);
    let bad = fails(
        env.master()
            .args(["tenants", "update", &id, "--external-id", "Not Valid"]),
        7,
    );
    assert!(bad.stderr.contains("VALIDATION_ERROR"), "{}", bad.stderr);
    let got = json_ok(env.master().args(["tenants", "get", &id]));
    assert_eq!(got["external_id"], "acme", "unchanged");

    // Setting and clearing are flags of their own, never both at once.
    fails(
        env.master().args([
            "tenants",
            "update",
            &id,
            "--external-id",
            "x",
            "--clear-external-id",
        ]),
        2,
    );
    let renamed =
        json_ok(
            env.master()
                .args(["tenants", "update", &id, "--external-id", "acme-university"]),
        );
    assert_eq!(renamed["external_id"], "acme-university");
    let cleared = json_ok(
        env.master()
            .args(["tenants", "update", &id, "--clear-external-id"]),
    );
    assert_eq!(cleared["external_id"], serde_json::Value::Null);
    let none = json_ok(
        env.master()
            .args(["tenants", "list", "--external-id", "acme-university"]),
    );
    assert_eq!(none, serde_json::json!([]));
}
