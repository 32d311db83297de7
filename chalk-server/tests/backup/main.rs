//! Backup and restore of the embedded store through the real binary (docs/api.md "Backup and
//! restore"): a backup taken under a write load restores everything acknowledged before it
//! began, into a server that accepts the same keys, tokens and webhook secrets; restore
//! refuses what it cannot restore and changes nothing; a backup killed midway leaves no
//! file under its name; the schedule keeps the newest N and counts its failures.

#[path = "../support/mod.rs"]
mod support;

mod harness;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness::{Receiver, Server, binary, command, create_tenant, entries, path, stderr};
use support::server::{ENCRYPTION_KEY, MASTER_KEY, call};

const OTHER_KEY: &str = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=";
const PARTICIPANT_NAME: &str = "Zanzibar Quokka 7731";
const CONFIG_SECRET: &str = "whsec_Q29uZmlnU2VjcmV0TmV2ZXJSZWFkYWJsZTAxMjM0NTY=";

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_under_write_load_restores_every_acknowledged_write_keys_tokens_and_secrets() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let server = Server::start(&data, &[]);
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let receiver = Receiver::default();
    let hook = receiver.start().await;

    // What must survive: a tenant with a secret in its config, its API key, a token it
    // was issued, a webhook endpoint and its secret, a participant with a known name.
    let tenant = create_tenant(
        &client,
        &base,
        json!({"name": "Acme", "config": {"post_meeting_webhook": {
            "enabled": true, "url": "https://hooks.acme.edu/chalk", "secret": CONFIG_SECRET}}}),
    )
    .await;
    let tenant_id = tenant["id"].as_str().unwrap().to_owned();
    let api_key = tenant["api_key"].as_str().unwrap().to_owned();
    let (status, pair) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/v1/auth/token"),
        &[],
        Some(json!({"api_key": api_key})),
    )
    .await;
    assert_eq!(status, 200, "{pair}");
    let bearer = format!("Bearer {}", pair["data"]["access_token"].as_str().unwrap());
    let admin = [("Authorization", bearer.as_str())];
    let (status, endpoint) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/v1/tenants/{tenant_id}/webhook-endpoints"),
        &admin,
        Some(json!({"url": hook, "events": ["webhook.test"]})),
    )
    .await;
    assert_eq!(status, 201, "{endpoint}");
    let endpoint_id = endpoint["data"]["id"].as_str().unwrap().to_owned();
    let endpoint_secret = endpoint["data"]["secret"].as_str().unwrap().to_owned();
    let (status, room) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/v1/rooms"),
        &admin,
        Some(json!({"name": "Standup"})),
    )
    .await;
    assert_eq!(status, 201, "{room}");
    let room_id = room["data"]["id"].as_str().unwrap().to_owned();
    let (status, joined) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/v1/rooms/{room_id}/participants"),
        &admin,
        Some(json!({"display_name": PARTICIPANT_NAME})),
    )
    .await;
    assert_eq!(status, 201, "{joined}");

    // A write load: tenants created in a loop by several clients, before, during and
    // after the backup. Every one must be acknowledged (a backup never fails a write).
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let refused = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (client, base) = (client.clone(), base.clone());
            let (acknowledged, refused, stop) =
                (acknowledged.clone(), refused.clone(), stop.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let (status, body) = call(
                        &client,
                        reqwest::Method::POST,
                        format!("{base}/api/v1/tenants"),
                        &[("X-Master-Key", MASTER_KEY)],
                        Some(json!({"name": format!("Load {w}-{i}")})),
                    )
                    .await;
                    if status == 201 {
                        let id = body["data"]["id"].as_str().unwrap().to_owned();
                        acknowledged.lock().unwrap().push(id);
                    } else {
                        refused.lock().unwrap().push(format!("{status} {body}"));
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 100 {
        assert!(Instant::now() < deadline, "the load made no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before: Vec<String> = acknowledged.lock().unwrap().clone();
    let file = root.path().join("chalk.backup");
    let backup = {
        let (data, file) = (data.clone(), file.clone());
        tokio::task::spawn_blocking(move || {
            command(
                &data,
                Some(ENCRYPTION_KEY),
                &["backup", "--to", path(&file)],
            )
        })
        .await
        .unwrap()
    };
    let during = acknowledged.lock().unwrap().len() - before.len();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(backup.status.success(), "{}", stderr(&backup));
    assert!(
        String::from_utf8_lossy(&backup.stdout).contains("key fingerprint"),
        "{backup:?}"
    );
    assert!(
        refused.lock().unwrap().is_empty(),
        "{:?}",
        refused.lock().unwrap()
    );
    eprintln!("{during} writes acknowledged while the backup ran");
    // Only the backup file is left beside it, and nothing beside the database.
    assert_eq!(entries(root.path()), ["chalk.backup", "data"]);
    assert!(
        !entries(&data)
            .iter()
            .any(|n| n.starts_with(".chalk-backup"))
    );

    // Sealed: neither the participant's name nor a secret is readable in it.
    let bytes = std::fs::read(&file).unwrap();
    for plaintext in [
        PARTICIPANT_NAME,
        CONFIG_SECRET,
        &endpoint_secret,
        &tenant_id,
        "SQLite format 3",
    ] {
        assert!(
            !bytes
                .windows(plaintext.len())
                .any(|w| w == plaintext.as_bytes()),
            "{plaintext} is readable in the backup"
        );
    }

    let verified = command(
        &data,
        Some(ENCRYPTION_KEY),
        &["backup", "--verify", path(&file), "-o", "json"],
    );
    assert!(verified.status.success(), "{}", stderr(&verified));
    let manifest: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(manifest["format_version"], 1);
    assert!(manifest["tenant_count"].as_i64().unwrap() > before.len() as i64);
    assert!(manifest["schema_version"].as_i64().unwrap() > 0);
    assert_eq!(manifest["server_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        manifest["checksum"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let fingerprint = manifest["key_fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(fingerprint.len(), 16);
    assert!(!String::from_utf8_lossy(&verified.stdout).contains(ENCRYPTION_KEY));
    server.stop();

    // Restored into a fresh (absent) directory, a server on it serves all of it.
    let restored = root.path().join("restored");
    let output = command(
        &data,
        Some(ENCRYPTION_KEY),
        &[
            "restore",
            "--from",
            path(&file),
            "--data-dir",
            path(&restored),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(entries(&restored), ["chalk.db"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&restored), 0o700);
        assert_eq!(mode(&restored.join("chalk.db")), 0o600);
    }
    let server = Server::start(&restored, &[]);
    let base = server.base.clone();
    for id in before.iter().chain([&tenant_id]) {
        let (status, body) = call(
            &client,
            reqwest::Method::GET,
            format!("{base}/api/v1/tenants/{id}"),
            &[("X-Master-Key", MASTER_KEY)],
            None,
        )
        .await;
        assert_eq!(status, 200, "{id} acknowledged before the backup: {body}");
    }
    // The token signed before the backup verifies against the restored signing keys.
    let (status, me) = call(
        &client,
        reqwest::Method::GET,
        format!("{base}/api/v1/tenant"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["data"]["id"], tenant_id.as_str());
    // The API key issued before still works.
    let (status, _) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/v1/auth/token"),
        &[],
        Some(json!({"api_key": api_key})),
    )
    .await;
    assert_eq!(status, 200);
    // The participant is there; the webhook endpoint's secret still signs.
    let (status, room) = call(
        &client,
        reqwest::Method::GET,
        format!("{base}/api/v1/rooms/{room_id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 200, "{room}");
    let (status, queued) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/v1/tenants/{tenant_id}/webhook-endpoints/{endpoint_id}/test"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 202, "{queued}");
    let (headers, body) = receiver.wait_for_one().await;
    let event = chalk_sdk::webhooks::verify(&[endpoint_secret.as_str()], &headers, &body)
        .expect("signed with the endpoint's secret from before the backup");
    assert_eq!(event.id(), queued["data"]["event_id"].as_str().unwrap());
    server.stop();
}

/// A small stopped deployment with one tenant, and its backup.
async fn backed_up(root: &Path) -> (PathBuf, PathBuf) {
    let data = root.join("data");
    let server = Server::start(&data, &[]);
    create_tenant(
        &reqwest::Client::new(),
        &server.base,
        json!({"name": "Acme"}),
    )
    .await;
    server.stop();
    let file = root.join("chalk.backup");
    let output = command(
        &data,
        Some(ENCRYPTION_KEY),
        &["backup", "--to", path(&file)],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    (data, file)
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_refuses_what_it_cannot_restore_and_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let (data, file) = backed_up(root.path()).await;
    let target = root.path().join("target");
    let restore = |file: &Path, dir: &Path, key: Option<&str>| {
        command(
            &data,
            key,
            &["restore", "--from", path(file), "--data-dir", path(dir)],
        )
    };
    let untouched = |what: &str| {
        assert!(!target.exists(), "{what}: the target was created");
        let mut left = entries(root.path());
        left.retain(|n| n.starts_with('.'));
        assert!(left.is_empty(), "{what}: left behind {left:?}");
    };

    // A non-empty directory.
    let occupied = root.path().join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("notes.txt"), b"mine").unwrap();
    let output = restore(&file, &occupied, Some(ENCRYPTION_KEY));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("is not empty"),
        "{}",
        stderr(&output)
    );
    assert_eq!(entries(&occupied), ["notes.txt"]);

    // Another encryption key: refused, naming both fingerprints.
    let ours = chalk_server::domain::backup::BackupKey::from_encryption_key(ENCRYPTION_KEY)
        .unwrap()
        .fingerprint();
    let theirs = chalk_server::domain::backup::BackupKey::from_encryption_key(OTHER_KEY)
        .unwrap()
        .fingerprint();
    let output = restore(&file, &target, Some(OTHER_KEY));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("another encryption key"), "{message}");
    assert!(
        message.contains(&ours) && message.contains(&theirs),
        "{message}"
    );
    assert!(!message.contains(OTHER_KEY) && !message.contains(ENCRYPTION_KEY));
    untouched("another key");

    // No key at all: a usage error.
    let output = restore(&file, &target, None);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("CHALK_ENCRYPTION_KEY"),
        "{}",
        stderr(&output)
    );
    untouched("no key");

    // Truncated (inside a segment and at the manifest's end), and one flipped byte.
    let bytes = std::fs::read(&file).unwrap();
    let damaged = root.path().join("damaged.backup");
    for (what, content, expected) in [
        (
            "truncated",
            bytes[..bytes.len() - 100].to_vec(),
            "truncated",
        ),
        ("cut", bytes[..bytes.len() / 2].to_vec(), "truncated"),
        (
            "flipped",
            {
                let mut b = bytes.clone();
                b[bytes.len() / 2] ^= 0x20;
                b
            },
            "damaged",
        ),
        (
            "not a backup",
            b"SQLite format 3\0".to_vec(),
            "not a Chalk backup",
        ),
    ] {
        std::fs::write(&damaged, &content).unwrap();
        let output = restore(&damaged, &target, Some(ENCRYPTION_KEY));
        assert_eq!(output.status.code(), Some(1), "{what}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(expected),
            "{what}: {}",
            stderr(&output)
        );
        untouched(what);
        let verified = command(
            &data,
            Some(ENCRYPTION_KEY),
            &["backup", "--verify", path(&damaged)],
        );
        assert_eq!(verified.status.code(), Some(1), "{what}: verify");
    }
    std::fs::remove_file(&damaged).unwrap();

    // A backup from a newer schema than this server knows.
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        data.join("chalk.db").display()
    ))
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', TRUE, X'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::Connection::close(conn).await.unwrap();
    let newer = root.path().join("newer.backup");
    let output = command(
        &data,
        Some(ENCRYPTION_KEY),
        &["backup", "--to", path(&newer)],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let output = restore(&newer, &target, Some(ENCRYPTION_KEY));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("newer than this server"),
        "{}",
        stderr(&output)
    );
    untouched("newer schema");

    // The good file still restores into an empty directory that exists.
    std::fs::create_dir(&target).unwrap();
    let output = restore(&file, &target, Some(ENCRYPTION_KEY));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(entries(&target), ["chalk.db"]);
}

#[test]
fn postgres_deployments_are_told_to_use_pg_dump() {
    let root = tempfile::tempdir().unwrap();
    for args in [
        vec!["backup", "--to", "x.backup"],
        vec!["restore", "--from", "x.backup", "--data-dir", "d"],
    ] {
        let output = binary()
            .env("CHALK_DATABASE_URL", "postgres://chalk@127.0.0.1:1/chalk")
            .env("CHALK_ENCRYPTION_KEY", ENCRYPTION_KEY)
            .current_dir(root.path())
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains("pg_dump"), "{}", stderr(&output));
    }
    // Scheduled backups are refused at start, before the database is reached.
    let output = binary()
        .env("CHALK_DATABASE_URL", "postgres://chalk@127.0.0.1:1/chalk")
        .env("CHALK_BACKUP_DIR", root.path().join("backups"))
        .current_dir(root.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("CHALK_BACKUP_DIR") && message.contains("pg_dump"),
        "{message}"
    );
    assert!(entries(root.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_a_backup_leaves_no_file_under_the_final_name() {
    let root = tempfile::tempdir().unwrap();
    let (data, _) = backed_up(root.path()).await;
    // Ballast, so that sealing takes long enough to be caught midway.
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        data.join("chalk.db").display()
    ))
    .await
    .unwrap();
    sqlx::query(
        "CREATE TABLE ballast (b BLOB); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 48) \
         INSERT INTO ballast SELECT randomblob(1048576) FROM n",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::Connection::close(conn).await.unwrap();

    let out_dir = root.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let file = out_dir.join("chalk.backup");
    let mut child = binary()
        .env("CHALK_DATA_DIR", &data)
        .env("CHALK_ENCRYPTION_KEY", ENCRYPTION_KEY)
        .args(["backup", "--to", path(&file)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the sealed file is being written under its temporary name.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backup finished before it could be killed"
        );
        assert!(Instant::now() < deadline, "no temporary file appeared");
        if entries(&out_dir).iter().any(|n| n.ends_with(".tmp")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(!file.exists(), "a partial backup is under the final name");
    assert!(
        entries(&out_dir)
            .iter()
            .all(|n| n.starts_with('.') && n.ends_with(".tmp"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduled_backups_keep_the_newest_n_and_a_failing_one_never_affects_serving() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let backups = root.path().join("backups");
    let client = reqwest::Client::new();

    // Invalid settings are refused at start, plainly.
    for (name, value, expected) in [
        ("CHALK_BACKUP_KEEP", "0", "CHALK_BACKUP_KEEP"),
        ("CHALK_BACKUP_INTERVAL", "100ms", "at least 1s"),
    ] {
        let output = binary()
            .env("CHALK_DATA_DIR", &data)
            .env("CHALK_BACKUP_DIR", &backups)
            .env(name, value)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{name}={value}");
        assert!(stderr(&output).contains(expected), "{}", stderr(&output));
    }

    let mut server = Server::start(
        &data,
        &[
            ("CHALK_BACKUP_DIR", path(&backups)),
            ("CHALK_BACKUP_INTERVAL", "1s"),
            ("CHALK_BACKUP_KEEP", "2"),
        ],
    );
    create_tenant(&client, &server.base, json!({"name": "Acme"})).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.events("scheduled backup written").len() < 4 {
        assert!(Instant::now() < deadline, "{:?}", server.seen);
        std::thread::sleep(Duration::from_millis(100));
    }
    let metrics = client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("chalk_backup_failures_total 0"),
        "{metrics}"
    );
    let last_success = metrics
        .lines()
        .find_map(|l| l.strip_prefix("chalk_backup_last_success_timestamp_seconds "))
        .expect("the last success is exported")
        .parse::<f64>()
        .unwrap();
    assert!((chrono::Utc::now().timestamp() as f64 - last_success).abs() < 10.0);
    let logs = server.stop();
    // Exactly the newest two of those written are left.
    let written: Vec<String> = logs
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["message"] == "scheduled backup written")
        .map(|event| {
            let file = PathBuf::from(event["file"].as_str().unwrap());
            file.file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    assert!(written.len() >= 4, "{written:?}");
    let left = entries(&backups);
    assert_eq!(left, written[written.len() - 2..], "{written:?}");
    let newest = backups.join(&left[1]);
    let verified = command(
        &data,
        Some(ENCRYPTION_KEY),
        &["backup", "--verify", path(&newest), "-o", "json"],
    );
    assert!(verified.status.success(), "{}", stderr(&verified));
    let manifest: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(manifest["tenant_count"], 1);

    // An unwritable backup directory (under a file): counted and logged, serving goes on.
    let blocker = root.path().join("a-file");
    std::fs::write(&blocker, b"x").unwrap();
    let mut server = Server::start(
        &data,
        &[
            ("CHALK_BACKUP_DIR", path(&blocker.join("backups"))),
            ("CHALK_BACKUP_INTERVAL", "1s"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.events("scheduled backup failed").len() < 2 {
        assert!(Instant::now() < deadline, "{:?}", server.seen);
        std::thread::sleep(Duration::from_millis(100));
    }
    create_tenant(&client, &server.base, json!({"name": "Still serving"})).await;
    let metrics = client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let failures = metrics
        .lines()
        .find_map(|l| l.strip_prefix("chalk_backup_failures_total "))
        .expect("failures are exported")
        .parse::<u64>()
        .unwrap();
    assert!(failures >= 2, "{metrics}");
    assert!(!metrics.contains("chalk_backup_last_success_timestamp_seconds "));
    let logs = server.stop().join("\n");
    assert!(!logs.contains(ENCRYPTION_KEY) && !logs.contains(MASTER_KEY));
}
