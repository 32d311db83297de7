use crate::common::{Env, fails, json_ok, run};

#[test]
fn create_list_and_revoke_keys() {
    let env = Env::new();
    let (id, admin_key) = env.create_tenant("Keys Co");

    let created = json_ok(env.tenant(&admin_key).args([
        "keys",
        "create",
        &id,
        "--name",
        "reader",
        "--scope",
        "tenant:read,rooms:read",
    ]));
    let reader = created["api_key"].as_str().unwrap().to_owned();
    let key_id = created["key_id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["scopes"],
        serde_json::json!(["tenant:read", "rooms:read"])
    );

    let listed = json_ok(env.master().args(["keys", "list", &id]));
    let keys = listed.as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k.get("api_key").is_none()));
    let primary = keys.iter().find(|k| k["primary"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The reader may read but not administer.
    json_ok(env.tenant(&reader).args(["tenants", "get", &id]));
    fails(env.tenant(&reader).args(["keys", "list", &id]), 4);

    let table = run(env.master().args(["-o", "table", "keys", "list", &id]));
    assert!(
        table.stdout.contains("reader") && table.stdout.contains("rooms:read"),
        "{}",
        table.stdout
    );
    let made = run(env.master().args([
        "-o",
        "table",
        "keys",
        "create",
        &id,
        "--name",
        "t",
        "--scope",
        "rooms:write",
    ]));
    assert!(made.stdout.contains("SHOWN ONCE"), "{}", made.stdout);

    fails(env.master().args(["keys", "revoke", &id, &key_id]), 2);
    json_ok(env.tenant(&reader).args(["whoami"]));
    let revoked = json_ok(env.master().args(["keys", "revoke", &id, &key_id, "--yes"]));
    assert_eq!(revoked["deleted"], true);
    fails(env.tenant(&reader).args(["whoami"]), 3);

    let primary_refused = fails(
        env.master()
            .args(["keys", "revoke", &id, &primary, "--yes"]),
        6,
    );
    assert!(
        primary_refused.stderr.contains("CONFLICT"),
        "{}",
        primary_refused.stderr
    );
    fails(
        env.master().args([
            "keys",
            "create",
            &id,
            "--name",
            "x",
            "--scope",
            "everything",
        ]),
        2,
    );
    fails(
        env.master()
            .args(["keys", "revoke", &id, "key_missing", "--yes"]),
        5,
    );
}
