use crate::common::{Env, fails, json_ok, run};

#[test]
fn issue_inspect_refresh_and_revoke() {
    let env = Env::new();
    let (id, key) = env.create_tenant("Token Co");

    let pair = json_ok(env.tenant(&key).args(["token", "issue"]));
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(pair["token_type"], "Bearer");

    // Decoded locally, from stdin.
    let claims = json_ok(
        env.chalk()
            .args(["token", "inspect"])
            .write_stdin(access.clone()),
    );
    assert_eq!(claims["claims"]["sub"], id.as_str());
    assert_eq!(claims["claims"]["iss"], "chalk");
    assert_eq!(claims["expired"], false);
    // CHALK_API_URL is set: the signature is checked against the server's JWKS.
    assert_eq!(claims["signature_verified"], true, "{claims}");
    assert_eq!(claims["kid"], claims["header"]["kid"]);
    assert!(claims["kid"].is_string());
    let table = run(env
        .chalk()
        .args(["-o", "table", "token", "inspect", &access]));
    assert!(table.stdout.contains("verified by key"), "{}", table.stdout);
    // No API URL configured: decoded locally only.
    let local = json_ok(
        env.chalk()
            .env_remove("CHALK_API_URL")
            .args(["token", "inspect", &access]),
    );
    assert_eq!(local["signature_verified"], false);
    assert!(
        local["signature"]
            .as_str()
            .unwrap()
            .starts_with("not verified"),
        "{local}"
    );
    fails(env.chalk().args(["token", "inspect", "not-a-jwt"]), 7);

    let renewed = json_ok(
        env.chalk()
            .args(["token", "refresh"])
            .write_stdin(format!("{refresh}\n")),
    );
    let second = renewed["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, refresh);
    // A refresh token works once.
    let reused = fails(
        env.chalk()
            .args(["token", "refresh", "-"])
            .write_stdin(refresh),
        3,
    );
    assert!(
        reused.stderr.contains("INVALID_REFRESH_TOKEN"),
        "{}",
        reused.stderr
    );

    let pair = json_ok(env.tenant(&key).args(["token", "issue"]));
    let refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    let revoked = json_ok(
        env.chalk()
            .args(["token", "revoke"])
            .write_stdin(refresh.clone()),
    );
    assert_eq!(revoked["revoked"], true);
    fails(
        env.chalk().args(["token", "refresh"]).write_stdin(refresh),
        3,
    );

    // Issue needs an API key, not the master key; no token on stdin is a usage error.
    fails(env.master().args(["token", "issue"]), 2);
    fails(env.chalk().args(["token", "refresh"]), 2);
    // With --no-input, stdin is read only when asked for with `-`.
    let out = fails(
        env.chalk()
            .args(["--no-input", "token", "inspect"])
            .write_stdin(access.clone()),
        2,
    );
    assert!(out.stderr.contains("missing token"), "{}", out.stderr);
    json_ok(
        env.chalk()
            .args(["--no-input", "token", "inspect", "-"])
            .write_stdin(access.clone()),
    );
    fails(
        env.chalk()
            .args(["token", "issue"])
            .env("CHALK_API_KEY", "sk_live_wrong"),
        3,
    );
}
