//! Every documented exit code, each from a real failure.

use crate::common::{Env, fails, json_ok};

#[test]
fn each_failure_maps_to_its_documented_code() {
    let env = Env::new();
    let (id, key) = env.create_tenant("Codes Co");

    // 3: authentication.
    let out = fails(
        env.chalk()
            .env("CHALK_MASTER_KEY", "wrong")
            .args(["tenants", "list"]),
        3,
    );
    assert!(
        out.stderr.contains("UNAUTHORIZED") && out.stderr.contains("hint:"),
        "{}",
        out.stderr
    );
    fails(env.chalk().args(["tenants", "list"]), 3);
    // 4: permission (a tenant may not change its own quotas).
    let out = fails(
        env.tenant(&key)
            .args(["tenants", "update", &id, "--max-concurrent-rooms", "9"]),
        4,
    );
    assert!(out.stderr.contains("FORBIDDEN"), "{}", out.stderr);
    // 5: not found.
    fails(
        env.master().args(["tenants", "get", "tenant_doesnotexist"]),
        5,
    );
    // 6: conflict (the email is taken).
    json_ok(
        env.master()
            .args(["tenants", "update", &id, "--email", "taken@example.com"]),
    );
    let out = fails(
        env.master()
            .args(["tenants", "create", "Other", "--email", "taken@example.com"]),
        6,
    );
    assert!(out.stderr.contains("CONFLICT"), "{}", out.stderr);
    // 7: invalid input.
    fails(
        env.master()
            .args(["tenants", "create", "Big", "--max-concurrent-rooms", "0"]),
        7,
    );
    // 2: usage.
    fails(env.master().args(["tenants", "frobnicate"]), 2);
    fails(
        env.master()
            .args(["--api-url", "ftp://nowhere", "tenants", "list"]),
        2,
    );
    fails(
        env.chalk()
            .env("CHALK_API_KEY", "a")
            .env("CHALK_MASTER_KEY", "b")
            .args(["whoami"]),
        2,
    );
    // 8: rate limited (one request a minute).
    let limited =
        json_ok(
            env.master()
                .args(["tenants", "create", "Slow", "--rate-limit-per-minute", "1"]),
        );
    let slow_key = limited["api_key"].as_str().unwrap();
    json_ok(env.tenant(slow_key).args(["whoami"]));
    let out = fails(env.tenant(slow_key).args(["whoami"]), 8);
    assert!(out.stderr.contains("RATE_LIMITED"), "{}", out.stderr);
    // 1: other (a corrupt profiles file).
    std::fs::write(env.config.path().join("profiles.json"), "{").unwrap();
    let out = fails(env.chalk().args(["profiles", "list"]), 1);
    assert!(out.stderr.contains("profiles.json"), "{}", out.stderr);
}

#[test]
fn an_unreachable_server_is_9() {
    // Bind and drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = Env::new();
    let out = fails(
        env.master().args([
            "--api-url",
            &format!("http://127.0.0.1:{port}"),
            "tenants",
            "list",
        ]),
        9,
    );
    assert!(out.stderr.contains("UNREACHABLE"), "{}", out.stderr);
    assert!(
        out.stderr.contains("CHALK_API_URL"),
        "the hint says what to check: {}",
        out.stderr
    );
}
