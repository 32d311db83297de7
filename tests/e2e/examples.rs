//! The examples in `examples/` run, as built binaries, against a fresh real server.
//!
//! The binaries come from `cargo build --offline --workspace --tests --examples`, run once by
//! this test binary itself: a no-op (under a second) right after `cargo test --workspace`, which
//! builds every example before running any test, and a real build in a targeted
//! `cargo test --test e2e` — so the test never runs a stale example, nor depends on
//! `.ci/run` having built them. The executables are located from cargo's JSON messages,
//! which follow `CARGO_TARGET_DIR` and the profile.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Output;

use chalk_sdk::model::{ConfigPatch, CreateTenantRequest, Patch};
use tokio::process::Command;
use tokio::sync::OnceCell;

use crate::common::{MASTER_KEY, TestServer};
use crate::support::master;

static EXAMPLES: OnceCell<HashMap<String, PathBuf>> = OnceCell::const_new();

/// The path of the built example `name`, building the examples once per test binary.
async fn example(name: &str) -> PathBuf {
    let built = EXAMPLES
        .get_or_init(|| async {
            let mut cargo = Command::new(env!("CARGO"));
            // `--tests` too: the same selection as `cargo test --workspace`, hence the same
            // feature resolution and the very artifacts it just built. `--examples` alone
            // resolves dev-dependency features differently and rebuilds the workspace.
            cargo.args(["build", "--offline", "--workspace", "--tests", "--examples"]);
            // The profile this test was built with, so the build is the one just made.
            if !cfg!(debug_assertions) {
                cargo.arg("--release");
            }
            let output = cargo
                .arg("--message-format=json-render-diagnostics")
                .arg("--manifest-path")
                .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
                .output()
                .await
                .expect("run cargo build --examples");
            assert!(
                output.status.success(),
                "cargo build --examples failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let mut built = HashMap::new();
            for line in String::from_utf8_lossy(&output.stdout).lines() {
                let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                let is_example = message["target"]["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k == "example"));
                if let (true, Some(name), Some(path)) = (
                    is_example,
                    message["target"]["name"].as_str(),
                    message["executable"].as_str(),
                ) {
                    built.insert(name.to_owned(), PathBuf::from(path));
                }
            }
            built
        })
        .await;
    built
        .get(name)
        .unwrap_or_else(|| panic!("no example named {name} was built: {built:?}"))
        .clone()
}

/// Runs an example against `server` with the operator's credentials in the environment.
async fn run(server: &TestServer, name: &str, args: &[&str]) -> Output {
    let output = Command::new(example(name).await)
        .args(args)
        .env("CHALK_API_URL", &server.base_url)
        .env("CHALK_MASTER_KEY", MASTER_KEY)
        .env_remove("CHALK_API_KEY")
        .env_remove("CHALK_PROVISION_SECRETS")
        .output()
        .await
        .expect("run the example");
    assert!(
        output.status.success(),
        "{name} {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test]
async fn quickstart_runs_every_step_against_a_fresh_server() {
    let server = TestServer::start().await;
    let output = run(&server, "quickstart", &["Quickstart E2E"]).await;
    let stdout = String::from_utf8(output.stdout).unwrap();
    for step in 1..=8 {
        let prefix = format!("{step}. ");
        assert!(
            stdout.lines().any(|line| line.starts_with(&prefix)),
            "step {step} missing:\n{stdout}"
        );
    }

    // What it did is what the server holds: one tenant, config patched.
    let tenants = master(&server)
        .tenants()
        .list(&Default::default())
        .await
        .unwrap();
    assert_eq!(tenants.data.len(), 1);
    let tenant = &tenants.data[0];
    assert_eq!(tenant.name, "Quickstart E2E");
    assert!(tenant.config.force_recording);
    assert_eq!(tenant.config.transcription_language, "es-ES");
    assert!(
        stdout.contains(&format!("done: tenant {}", tenant.id)),
        "{stdout}"
    );
    // The API key was never printed whole.
    assert!(!contains_full_key(&stdout), "{stdout}");
}

/// Whether `text` holds an `sk_live_` key with all of its 32 characters.
fn contains_full_key(text: &str) -> bool {
    text.match_indices("sk_live_").any(|(i, _)| {
        text[i + 8..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .count()
            >= 32
    })
}

const ACME_TOML: &str = r#"
[[tenant]]
external_id = "acme"
name = "Acme University"

[tenant.config]
force_recording = true
recording_retention_days = 90
allowed_origins = ["https://app.example.com"]

[[tenant.api_key]]
name = "ci"
scopes = ["tenant:read"]
"#;

/// Runs `provision FILE` with `CHALK_PROVISION_SECRETS` set; expects success.
async fn provision_with_secrets(
    server: &TestServer,
    secrets: &std::path::Path,
    file: &std::path::Path,
) -> Output {
    let output = Command::new(example("provision").await)
        .arg(file)
        .env("CHALK_API_URL", &server.base_url)
        .env("CHALK_MASTER_KEY", MASTER_KEY)
        .env("CHALK_PROVISION_SECRETS", secrets)
        .env_remove("CHALK_API_KEY")
        .output()
        .await
        .expect("run provision");
    assert!(output.status.success(), "{output:?}");
    assert!(!contains_full_key(&String::from_utf8_lossy(&output.stdout)));
    assert!(!contains_full_key(&String::from_utf8_lossy(&output.stderr)));
    output
}

#[tokio::test]
async fn provision_twice_prints_the_same_id_and_leaves_one_tenant() {
    let server = TestServer::start().await;
    let admin = master(&server);
    // A tenant with the same name but no external id must not be taken for it.
    admin
        .tenants()
        .create(&CreateTenantRequest::new("Acme University"))
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chalk.toml");
    std::fs::write(&file, ACME_TOML).unwrap();
    let secrets = dir.path().join("secrets.json");
    let first = provision_with_secrets(&server, &secrets, &file).await;
    let line = String::from_utf8(first.stdout).unwrap();
    let (external_id, id) = line.trim().split_once('\t').unwrap();
    assert_eq!(external_id, "acme");
    assert!(id.starts_with("tenant_"), "{id:?}");
    // The new tenant's keys went to the file, owner-only, and work; never to stdout.
    let held = std::fs::read_to_string(&secrets).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secrets).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let json: serde_json::Value = serde_json::from_str(&held).unwrap();
    let key = json["tenants"]["acme"]["primary_key"].as_str().unwrap();
    let tenant = crate::support::with_key(&server, &key.to_owned().into());
    assert_eq!(tenant.tenants().current().await.unwrap().id, id);
    assert!(json["tenants"]["acme"]["api_keys"]["ci"].is_string());

    // Someone changes the config by hand; the next run puts it back.
    let drift = ConfigPatch {
        recording_retention_days: Patch::Set(7),
        ..Default::default()
    };
    admin.tenants().config(id).update(&drift).await.unwrap();

    let second = provision_with_secrets(&server, &secrets, &file).await;
    assert_eq!(String::from_utf8(second.stdout).unwrap(), line);
    // Nothing new was created, so the file holds the same secrets.
    assert_eq!(std::fs::read_to_string(&secrets).unwrap(), held);

    let named = admin
        .tenants()
        .get_by_external_id("acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(named.id, id);
    let config = &named.config;
    assert!(config.force_recording);
    assert_eq!(config.recording_retention_days, 90);
    assert_eq!(config.allowed_origins, ["https://app.example.com"]);
    let keys = admin
        .tenants()
        .api_keys(id)
        .list(&Default::default())
        .await
        .unwrap();
    assert_eq!(keys.data.len(), 2, "the primary key and `ci`, once");
}

#[tokio::test]
async fn provision_refuses_a_bad_file_and_a_run_that_would_lose_a_secret() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // A typo in the file fails loudly, with its place, before anything is created.
    let bad = dir.path().join("typo.toml");
    std::fs::write(&bad, ACME_TOML.replace("force_recording", "force_recordng")).unwrap();
    let output = Command::new(example("provision").await)
        .arg(&bad)
        .env("CHALK_API_URL", &server.base_url)
        .env("CHALK_MASTER_KEY", MASTER_KEY)
        .env_remove("CHALK_PROVISION_SECRETS")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("typo.toml:7:1: unknown field `force_recordng`"),
        "{stderr}"
    );

    // A good file that creates secrets, with nowhere to keep them: refused, nothing made.
    let good = dir.path().join("chalk.toml");
    std::fs::write(&good, ACME_TOML).unwrap();
    let output = Command::new(example("provision").await)
        .arg(&good)
        .env("CHALK_API_URL", &server.base_url)
        .env("CHALK_MASTER_KEY", MASTER_KEY)
        .env_remove("CHALK_PROVISION_SECRETS")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("CHALK_PROVISION_SECRETS"));
    let all = master(&server)
        .tenants()
        .list(&Default::default())
        .await
        .unwrap();
    assert!(all.data.is_empty());
}

#[tokio::test]
async fn verify_token_admits_a_participant_token_and_refuses_the_rest() {
    use chalk_sdk::model::{AddParticipantRequest, CreateRoomRequest, ParticipantRole};
    let server = TestServer::start().await;
    let created = crate::support::create_tenant(&server, "Acme").await;
    let tenant = crate::support::with_key(&server, &created.api_key);
    tenant
        .rooms()
        .create(&CreateRoomRequest {
            id: Some("cs101".into()),
            ..CreateRoomRequest::named("CS101")
        })
        .await
        .unwrap();
    let joined = tenant
        .rooms()
        .participants("cs101")
        .add(&AddParticipantRequest::new("Ada", ParticipantRole::Host))
        .await
        .unwrap();
    let token = joined.access_token.expose();

    let output = run(&server, "verify_token", &[token, "--room", "cs101"]).await;
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with(&format!(
            "admitted: participant {} to room_cs101 as host (tenant {})",
            joined.participant.id, created.tenant.id
        )),
        "{stdout}"
    );

    // Another room, a tampered token: refused, exit 1, the reason on stderr.
    let mut tampered = token.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for (args, reason) in [
        (
            vec![token, "--room", "cs102"],
            "the token is for room_cs101, not room_cs102",
        ),
        (vec![tampered.as_str()], "invalid token"),
    ] {
        let output = Command::new(example("verify_token").await)
            .args(&args)
            .env("CHALK_API_URL", &server.base_url)
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(reason), "{stderr}");
    }
}

#[tokio::test]
async fn webhook_receiver_takes_a_delivery_from_the_server_and_refuses_a_forgery() {
    use chalk_sdk::model::CreateWebhookEndpointRequest;
    use tokio::io::{AsyncBufReadExt, BufReader};

    // The receiver listens on 127.0.0.1, so the server must allow private targets.
    let server = TestServer::start_with(&["--webhook-allow-private"]).await;
    let admin = master(&server);
    let tenant = admin
        .tenants()
        .create(&CreateTenantRequest::new("Hooked"))
        .await
        .unwrap()
        .tenant;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/chalk/webhooks");
    let endpoints = admin.tenants().webhook_endpoints(&tenant.id);
    let created = endpoints
        .create(&CreateWebhookEndpointRequest {
            url: url.clone(),
            events: vec!["webhook.test".into()],
            description: None,
            enabled: None,
        })
        .await
        .unwrap();
    let mut receiver = Command::new(example("webhook_receiver").await)
        .arg(format!("127.0.0.1:{port}"))
        .env("CHALK_WEBHOOK_SECRET", created.secret.expose())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the receiver");
    let mut lines = BufReader::new(receiver.stdout.take().unwrap()).lines();
    let next = async |lines: &mut tokio::io::Lines<_>| {
        tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .expect("a line in time")
            .unwrap()
            .expect("the receiver is running")
    };
    assert!(next(&mut lines).await.starts_with("listening on"));

    // The server delivers a signed test event; the handler verifies and reads it.
    endpoints.test(&created.endpoint.id).await.unwrap();
    assert_eq!(next(&mut lines).await, "test event received");

    // A delivery signed with another secret is refused.
    let body = br#"{"id":"evt_forged","type":"webhook.test","created_at":"2026-01-06T10:00:00Z","tenant_id":"t","data":{"endpoint_id":"we_1"}}"#;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let forged = chalk_sdk::webhooks::sign(
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "evt_forged",
        now,
        body,
    )
    .unwrap();
    let response = reqwest::Client::new()
        .post(&url)
        .header("webhook-id", "evt_forged")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", forged)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    receiver.kill().await.unwrap();
}
