use crate::common::{Env, MASTER_KEY, fails, json_ok, run};

#[test]
fn login_stores_a_checked_key_in_a_private_file_and_profiles_switch() {
    let env = Env::new();
    let (id, key) = env.create_tenant("Login Co");

    // A wrong key is refused and nothing is stored.
    let bad = fails(
        env.chalk()
            .args(["login", "--api-key-stdin"])
            .write_stdin("sk_live_wrong"),
        3,
    );
    assert!(bad.stderr.contains("UNAUTHORIZED"), "{}", bad.stderr);
    assert!(!env.config.path().join("credentials.json").exists());

    let login = json_ok(
        env.chalk()
            .args(["login", "--api-key-stdin"])
            .write_stdin(format!("{key}\n")),
    );
    assert_eq!(login["profile"], "default");
    assert_eq!(login["store"], "file");
    assert_eq!(login["tenant_id"], id.as_str());
    let credentials = env.config.path().join("credentials.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&credentials)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(
        std::fs::read_to_string(&credentials)
            .unwrap()
            .contains(&key)
    );

    // The stored profile is used when neither flag nor environment gives a credential.
    let me = json_ok(env.chalk().args(["whoami"]));
    assert_eq!(me["tenant"]["id"], id.as_str());
    assert_eq!(me["source"], "profile `default`");
    json_ok(env.chalk().args(["tenants", "get", &id]));

    // Environment beats the profile; a flag beats the environment.
    let me = json_ok(env.master().args(["whoami"]));
    assert_eq!(me["credential"], "master_key");
    assert_eq!(me["source"], "environment");
    fails(
        env.master().args(["--api-key", "sk_live_wrong", "whoami"]),
        3,
    );

    // A second profile, for the operator; the current one stays until switched.
    let ops = json_ok(
        env.chalk()
            .args(["login", "--master", "--api-key-stdin", "--profile", "ops"])
            .write_stdin(MASTER_KEY),
    );
    assert_eq!(ops["current"], false);
    let listed = json_ok(env.chalk().args(["profiles", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let table = run(env.chalk().args(["-o", "table", "profiles", "list"]));
    assert!(
        table.stdout.contains("ops") && table.stdout.contains("master key"),
        "{}",
        table.stdout
    );
    assert!(!table.stdout.contains(MASTER_KEY));

    json_ok(env.chalk().args(["--profile", "ops", "tenants", "list"]));
    fails(env.chalk().args(["tenants", "list"]), 4);
    json_ok(env.chalk().args(["profiles", "use", "ops"]));
    json_ok(env.chalk().args(["tenants", "list"]));
    let me = json_ok(env.chalk().args(["whoami"]));
    assert_eq!(me["profile"], "ops");
    fails(env.chalk().args(["profiles", "use", "nope"]), 5);
    fails(env.chalk().args(["--profile", "nope", "whoami"]), 5);

    let out = json_ok(env.chalk().args(["logout"]));
    assert_eq!(out["profile"], "ops");
    assert!(
        !std::fs::read_to_string(&credentials)
            .unwrap()
            .contains(MASTER_KEY)
    );
    fails(env.chalk().args(["logout", "--profile", "ops"]), 5);
    json_ok(env.chalk().args(["logout", "--profile", "default"]));
    let none = fails(env.chalk().args(["whoami"]), 3);
    assert!(none.stderr.contains("chalk login"), "{}", none.stderr);
}

#[test]
fn login_without_a_terminal_or_key_never_waits() {
    let env = Env::new();
    let out = fails(env.chalk().args(["login"]), 2);
    assert!(out.stderr.contains("--api-key-stdin"), "{}", out.stderr);
    let out = fails(env.chalk().args(["login", "--api-key-stdin"]), 2);
    assert!(out.stderr.contains("stdin"), "{}", out.stderr);
}

/// Issue 25: many `chalk login` at once into one config directory (parallel CI jobs) keep
/// every profile and every secret: each change is made under the directory's lock,
/// through a temporary file of its own.
#[test]
fn concurrent_logins_keep_every_profile() {
    const LOGINS: usize = 16;
    let env = Env::new();
    let tenants: Vec<(String, String)> = (0..LOGINS)
        .map(|i| env.create_tenant(&format!("Parallel {i}")))
        .collect();
    std::thread::scope(|scope| {
        for (i, (_, key)) in tenants.iter().enumerate() {
            let env = &env;
            scope.spawn(move || {
                let profile = format!("job-{i}");
                json_ok(
                    env.chalk()
                        .args(["login", "--api-key-stdin", "--profile", &profile])
                        .write_stdin(key.as_str()),
                );
            });
        }
    });

    let listed = json_ok(env.chalk().args(["profiles", "list"]));
    let mut names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort();
    let mut expected: Vec<String> = (0..LOGINS).map(|i| format!("job-{i}")).collect();
    expected.sort();
    assert_eq!(names, expected, "every profile survives");

    let credentials = env.config.path().join("credentials.json");
    let held: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&credentials).unwrap()).unwrap();
    assert_eq!(held["profiles"].as_object().unwrap().len(), LOGINS);
    for (i, (id, key)) in tenants.iter().enumerate() {
        let profile = format!("job-{i}");
        assert_eq!(
            held["profiles"][&profile],
            key.as_str(),
            "{profile}'s own key"
        );
        let me = json_ok(env.chalk().args(["--profile", &profile, "whoami"]));
        assert_eq!(me["tenant"]["id"], id.as_str(), "{profile}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&credentials)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    // No temporary file is left behind.
    let mut files: Vec<String> = std::fs::read_dir(env.config.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "config.lock")
        .collect();
    files.sort();
    assert_eq!(files, ["credentials.json", "profiles.json"]);
}
