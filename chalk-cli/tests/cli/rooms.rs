use crate::common::{Env, fails, json_ok, run};

#[test]
fn rooms_and_participants_end_to_end() {
    let env = Env::new();
    let created = json_ok(env.master().args([
        "tenants",
        "create",
        "Rooms Co",
        "--max-concurrent-rooms",
        "1",
    ]));
    let key = created["api_key"].as_str().unwrap().to_owned();

    let room = json_ok(env.tenant(&key).args([
        "rooms",
        "create",
        "--id",
        "cs101",
        "--name",
        "CS101 Lecture",
        "--max-participants",
        "5",
    ]));
    assert_eq!(room["id"], "room_cs101");
    assert_eq!(room["name"], "CS101 Lecture");
    // The tenant's quota is one room that has not ended.
    let full = fails(
        env.tenant(&key)
            .args(["rooms", "create", "--name", "Second"]),
        6,
    );
    assert!(full.stderr.contains("QUOTA_EXCEEDED"), "{}", full.stderr);

    let listed = json_ok(env.tenant(&key).args(["rooms", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], "room_cs101");
    let ended = json_ok(
        env.tenant(&key)
            .args(["rooms", "list", "--status", "ended"]),
    );
    assert_eq!(ended.as_array().unwrap().len(), 0);
    let table = run(env.tenant(&key).args(["-o", "table", "rooms", "list"]));
    assert!(table.stdout.contains("CS101 Lecture"), "{}", table.stdout);
    fails(env.tenant(&key).args(["rooms", "get", "room_missing"]), 5);

    let alice = json_ok(env.tenant(&key).args([
        "participants",
        "add",
        "room_cs101",
        "--name",
        "Alice",
        "--user-id",
        "u_alice",
    ]));
    let alice_id = alice["participant"]["id"].as_str().unwrap().to_owned();
    assert!(alice_id.starts_with("part_"), "{alice}");
    assert_eq!(alice["participant"]["role"], "participant");
    assert!(
        alice["access_token"].as_str().unwrap().contains('.'),
        "a JWT: {alice}"
    );
    let got = json_ok(env.tenant(&key).args(["rooms", "get", "room_cs101"]));
    assert_eq!(got["participant_count"], 1);

    // Same user again under the default `reject` policy.
    let dup = fails(
        env.tenant(&key).args([
            "participants",
            "add",
            "room_cs101",
            "--name",
            "Alice 2",
            "--user-id",
            "u_alice",
        ]),
        6,
    );
    assert!(dup.stderr.contains("CONFLICT"), "{}", dup.stderr);
    let host = run(env.tenant(&key).args([
        "-o",
        "table",
        "participants",
        "add",
        "room_cs101",
        "--name",
        "Prof",
        "--role",
        "host",
    ]));
    assert_eq!(host.code, 0, "{}", host.stderr);
    assert!(
        host.stdout.contains("SHOWN ONCE") && host.stdout.contains("host"),
        "{}",
        host.stdout
    );

    let tokens = json_ok(
        env.tenant(&key)
            .args(["participants", "token", "room_cs101", &alice_id]),
    );
    assert_eq!(tokens["participant_id"], alice_id.as_str());
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    // Renewal with the participant's own refresh token and no other credential.
    let renewed = json_ok(
        env.chalk()
            .args([
                "participants",
                "token",
                "room_cs101",
                &alice_id,
                "--refresh-token-stdin",
            ])
            .write_stdin(refresh.clone()),
    );
    assert_ne!(renewed["refresh_token"], refresh.as_str());
    fails(
        env.chalk()
            .args([
                "participants",
                "token",
                "room_cs101",
                &alice_id,
                "--refresh-token-stdin",
            ])
            .write_stdin(refresh),
        3,
    );

    fails(
        env.tenant(&key)
            .args(["participants", "remove", "room_cs101", &alice_id]),
        2,
    );
    let removed = json_ok(env.tenant(&key).args([
        "participants",
        "remove",
        "room_cs101",
        &alice_id,
        "--yes",
    ]));
    assert_eq!(removed["deleted"], true);
    fails(
        env.tenant(&key)
            .args(["participants", "remove", "room_cs101", &alice_id, "--yes"]),
        5,
    );

    let refused = fails(env.tenant(&key).args(["rooms", "end", "room_cs101"]), 2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    let still = json_ok(env.tenant(&key).args(["rooms", "get", "room_cs101"]));
    assert_ne!(still["status"], "ended");
    let ended = json_ok(
        env.tenant(&key)
            .args(["rooms", "end", "room_cs101", "--yes"]),
    );
    assert_eq!(ended["status"], "ended");
    // The quota slot is free again.
    json_ok(env.tenant(&key).args(["rooms", "create", "--name", "Next"]));
    fails(env.tenant(&key).args(["participants", "add"]), 2);
}
