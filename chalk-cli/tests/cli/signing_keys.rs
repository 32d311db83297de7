//! `chalk signing-keys list|rotate` and `chalk token inspect` against the server's JWKS.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::common::{Env, fails, json_ok, run};

#[test]
fn list_rotate_and_inspect_against_the_jwks() {
    let env = Env::new();
    let (_, key) = env.create_tenant("Keys Co");

    let keys = json_ok(env.master().args(["signing-keys", "list"]));
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["status"], "current");
    let first_kid = keys[0]["kid"].as_str().unwrap().to_owned();
    let table = run(env.master().args(["-o", "table", "signing-keys", "list"]));
    assert!(table.stdout.contains(&first_kid), "{}", table.stdout);
    assert!(table.stdout.contains("current"), "{}", table.stdout);

    let old = json_ok(env.tenant(&key).args(["token", "issue"]));
    let old_access = old["access_token"].as_str().unwrap().to_owned();

    // Rotation is destructive enough to ask: without a terminal it needs --yes.
    let refused = fails(env.master().args(["signing-keys", "rotate"]), 2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(
        json_ok(env.master().args(["signing-keys", "list"]))
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing rotated"
    );
    // A tenant key may not rotate: exit 4 (403).
    fails(
        env.tenant(&key).args(["signing-keys", "rotate", "--yes"]),
        4,
    );
    let rotated = json_ok(env.master().args(["signing-keys", "rotate", "--yes"]));
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, first_kid);
    assert_eq!(rotated["status"], "current");
    let keys = json_ok(env.master().args(["signing-keys", "list"]));
    assert_eq!(keys[0]["kid"], new_kid.as_str());
    assert_eq!(keys[1]["kid"], first_kid.as_str());
    assert_eq!(keys[1]["status"], "previous");

    // inspect: the old token names the old key and still verifies; a new one the new key.
    let inspected = json_ok(env.chalk().args(["token", "inspect", &old_access]));
    assert_eq!(inspected["kid"], first_kid.as_str());
    assert_eq!(inspected["signature_verified"], true, "{inspected}");
    let new = json_ok(env.tenant(&key).args(["token", "issue"]));
    let new_access = new["access_token"].as_str().unwrap().to_owned();
    let inspected = json_ok(env.chalk().args(["token", "inspect", &new_access]));
    assert_eq!(inspected["kid"], new_kid.as_str());
    assert_eq!(inspected["signature_verified"], true);

    // A token whose claims were changed: decoded, but its signature does not verify.
    let parts: Vec<&str> = new_access.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = "tenant_someone_else".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    let inspected = json_ok(env.chalk().args(["token", "inspect", &forged]));
    assert_eq!(inspected["claims"]["sub"], "tenant_someone_else");
    assert_eq!(inspected["signature_verified"], false);
    assert!(
        inspected["signature"]
            .as_str()
            .unwrap()
            .starts_with("NOT verified"),
        "{inspected}"
    );
    let table = run(env
        .chalk()
        .args(["-o", "table", "token", "inspect", &forged]));
    assert!(table.stdout.contains("NOT verified"), "{}", table.stdout);
}
