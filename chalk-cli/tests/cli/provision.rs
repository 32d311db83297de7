//! `chalk plan`, `chalk apply`, `chalk export` against a real server.

use std::path::{Path, PathBuf};

use chalk_sdk::model::{
    ConfigPatch, CreateWebhookEndpointRequest, Patch, UpdateWebhookEndpointRequest,
};
use serde_json::Value;

use crate::common::{Env, fails, json_ok, run};

const HOOK_SECRET: &str = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const OTHER_SECRET: &str = "whsec_ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";

const ACME: &str = r#"
[[tenant]]
external_id = "acme"
name = "Acme University"
email = "ops@acme.edu"
max_concurrent_rooms = 50
max_participants_per_room = 25

[tenant.config]
transcription_language = "es-ES"
allowed_origins = ["https://app.acme.edu"]

[tenant.config.post_meeting_webhook]
enabled = true
url = "https://hooks.acme.edu/chalk"
secret = { env = "ACME_WEBHOOK_SECRET" }

[[tenant.api_key]]
name = "ci-read"
scopes = ["tenant:read"]

[[tenant.api_key]]
name = "backend"
scopes = ["rooms:write", "tenant:read"]
expires_at = "2099-01-01T00:00:00Z"

[[tenant.webhook_endpoint]]
url = "https://hooks.acme.edu/events"
events = ["room.ended", "participant.joined"]
"#;

/// A directory with `chalk.toml` holding `text`.
fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chalk.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `chalk` as the operator with the webhook secret in the environment.
fn op(env: &Env) -> assert_cmd::Command {
    let mut cmd = env.master();
    cmd.env("ACME_WEBHOOK_SECRET", HOOK_SECRET);
    cmd
}

fn tenant_id(env: &Env, external_id: &str) -> String {
    let listed = json_ok(
        env.master()
            .args(["tenants", "list", "--external-id", external_id]),
    );
    listed[0]["id"].as_str().unwrap().to_owned()
}

fn changed_fields(plan: &Value) -> Vec<String> {
    plan["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["changes"].as_array().unwrap().clone())
        .map(|c| c["field"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn plan_apply_plan_converges_and_drift_shows_up() {
    let env = Env::new();
    let (dir, path) = file(ACME);
    let secrets = dir.path().join("secrets.json");

    let first = fails(op(&env).args(["plan", "-f", p(&path)]), 10);
    let plan: Value = serde_json::from_str(&first.stdout).unwrap();
    let fields = changed_fields(&plan);
    for field in [
        "name",
        "max_concurrent_rooms",
        "config.transcription_language",
        "ci-read",
    ] {
        assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
    }
    assert!(!first.stdout.contains("whsec_"), "{}", first.stdout);

    let applied = json_ok(op(&env).args(["apply", "-f", p(&path), "--secrets-out", p(&secrets)]));
    assert_eq!(
        applied["secrets_written"], 4,
        "primary key, two API keys, the endpoint secret"
    );
    let again = run(op(&env).args(["plan", "-f", p(&path)]));
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);

    // What the server holds is what the file says.
    let id = tenant_id(&env, "acme");
    let tenant = json_ok(env.master().args(["tenants", "get", &id]));
    assert_eq!(tenant["name"], "Acme University");
    assert_eq!(tenant["max_concurrent_rooms"], 50);
    assert_eq!(tenant["config"]["transcription_language"], "es-ES");
    let keys = json_ok(env.master().args(["keys", "list", &id]));
    assert_eq!(keys.as_array().unwrap().len(), 3);

    // Re-running apply after success changes nothing.
    let rerun = json_ok(op(&env).args(["apply", "-f", p(&path), "--secrets-out", p(&secrets)]));
    assert_eq!(rerun["tenants"][0]["changes"], serde_json::json!([]));
    assert_eq!(
        json_ok(env.master().args(["keys", "list", &id]))
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // A `chalk config set` made outside the file.
    json_ok(
        env.master()
            .args(["config", "set", &id, "transcription_language=fr-FR"]),
    );
    let drift = fails(op(&env).args(["plan", "-f", p(&path)]), 10);
    let plan: Value = serde_json::from_str(&drift.stdout).unwrap();
    assert_eq!(changed_fields(&plan), ["config.transcription_language"]);
    let change = &plan["tenants"][0]["changes"][0];
    assert_eq!(
        (change["old"].clone(), change["new"].clone()),
        ("fr-FR".into(), "es-ES".into())
    );
    let table = fails(op(&env).args(["-o", "table", "plan", "-f", p(&path)]), 10);
    assert!(
        table
            .stdout
            .contains(r#"~ config.transcription_language: "fr-FR" → "es-ES""#),
        "{}",
        table.stdout
    );

    // The webhook secret changed by hand: detected through its fingerprint, never shown.
    json_ok(op(&env).args(["apply", "-f", p(&path)]));
    let set = format!("post_meeting_webhook.secret={OTHER_SECRET}");
    json_ok(env.master().args(["config", "set", &id, &set]));
    let drift = fails(op(&env).args(["plan", "-f", p(&path)]), 10);
    let plan: Value = serde_json::from_str(&drift.stdout).unwrap();
    assert_eq!(
        changed_fields(&plan),
        ["config.post_meeting_webhook.secret"]
    );
    assert_eq!(plan["tenants"][0]["changes"][0]["secret"], true);
    assert!(!drift.stdout.contains("whsec_") && !drift.stderr.contains("whsec_"));
    json_ok(op(&env).args(["apply", "-f", p(&path)]));
    fails(op(&env).args(["plan", "-f", p(&path)]), 0);

    // A key created by hand: shown, left alone without --prune, revoked with it.
    json_ok(env.master().args([
        "keys",
        "create",
        &id,
        "--name",
        "by-hand",
        "--scope",
        "rooms:read",
    ]));
    let shown = fails(op(&env).args(["plan", "-f", p(&path)]), 0);
    let plan: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(plan["tenants"][0]["needs_prune"][0]["field"], "by-hand");
    assert_eq!(plan["tenants"][0]["needs_prune"][0]["action"], "delete");
    let prune = fails(op(&env).args(["plan", "-f", p(&path), "--prune"]), 10);
    assert_eq!(
        changed_fields(&serde_json::from_str(&prune.stdout).unwrap()),
        ["by-hand"]
    );
    // No terminal to ask on: --yes is needed, and nothing happens without it.
    fails(op(&env).args(["apply", "-f", p(&path), "--prune"]), 2);
    assert_eq!(
        json_ok(env.master().args(["keys", "list", &id]))
            .as_array()
            .unwrap()
            .len(),
        4
    );
    json_ok(op(&env).args(["apply", "-f", p(&path), "--prune", "--yes"]));
    let keys = json_ok(env.master().args(["keys", "list", &id]));
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .all(|k| k["name"] != "by-hand")
    );
    fails(op(&env).args(["plan", "-f", p(&path), "--prune"]), 0);

    // An endpoint's events changed by hand, and another endpoint made by hand.
    let other = "https://hooks.acme.edu/other";
    sdk(&env, async |client| {
        let endpoints = client.tenants().webhook_endpoints(&id);
        let listed = endpoints.list(&Default::default()).await.unwrap();
        let events = UpdateWebhookEndpointRequest {
            events: Some(vec!["room.created".into()]),
            ..Default::default()
        };
        endpoints.update(&listed.data[0].id, &events).await.unwrap();
        let extra = CreateWebhookEndpointRequest {
            url: other.into(),
            events: vec!["*".into()],
            description: None,
            enabled: None,
        };
        endpoints.create(&extra).await.unwrap();
    });
    let drift = fails(op(&env).args(["plan", "-f", p(&path)]), 10);
    let plan: Value = serde_json::from_str(&drift.stdout).unwrap();
    assert_eq!(changed_fields(&plan), ["https://hooks.acme.edu/events"]);
    assert_eq!(plan["tenants"][0]["needs_prune"][0]["field"], other);
    json_ok(op(&env).args(["apply", "-f", p(&path), "--prune", "--yes"]));
    fails(op(&env).args(["plan", "-f", p(&path), "--prune"]), 0);
    let endpoints = sdk(&env, async |client| {
        let endpoints = client.tenants().webhook_endpoints(&id);
        endpoints.list(&Default::default()).await.unwrap().data
    });
    assert_eq!(endpoints.len(), 1);
    let mut events = endpoints[0].events.clone();
    events.sort();
    assert_eq!(events, ["participant.joined", "room.ended"]);

    // The endpoint's secret, as the first apply wrote it, declared as the one held...
    let held: Value = serde_json::from_str(&std::fs::read_to_string(&secrets).unwrap()).unwrap();
    let url = "https://hooks.acme.edu/events";
    let write_held = |held: &Value| {
        let secret = held["tenants"]["acme"]["webhook_endpoints"][url]
            .as_str()
            .unwrap();
        std::fs::write(dir.path().join("events.whsec"), secret).unwrap();
    };
    write_held(&held);
    let declared = ACME.replace(
        "events = [\"room.ended\", \"participant.joined\"]",
        "events = [\"room.ended\", \"participant.joined\"]\nsecret = { file = \"events.whsec\" }",
    );
    std::fs::write(&path, declared).unwrap();
    fails(op(&env).args(["plan", "-f", p(&path)]), 0);
    // ...then rotated outside the file: drift, shown only as changed.
    sdk(&env, async |client| {
        let endpoints = client.tenants().webhook_endpoints(&id);
        let listed = endpoints.list(&Default::default()).await.unwrap();
        endpoints
            .rotate_secret(&listed.data[0].id, &Default::default())
            .await
            .unwrap();
    });
    let drift = fails(op(&env).args(["plan", "-f", p(&path)]), 10);
    let plan: Value = serde_json::from_str(&drift.stdout).unwrap();
    assert_eq!(changed_fields(&plan), [format!("{url}.secret")]);
    assert_eq!(plan["tenants"][0]["changes"][0]["secret"], true);
    assert!(!drift.stdout.contains("whsec_"), "{}", drift.stdout);
    // Apply rotates it to a secret the pipeline holds (in --secrets-out).
    json_ok(op(&env).args(["apply", "-f", p(&path), "--secrets-out", p(&secrets)]));
    let held: Value = serde_json::from_str(&std::fs::read_to_string(&secrets).unwrap()).unwrap();
    write_held(&held);
    fails(op(&env).args(["plan", "-f", p(&path)]), 0);
}

/// Runs `f` with an SDK client holding the master key (for what the CLI has no command for).
fn sdk<T>(env: &Env, f: impl AsyncFnOnce(&chalk_sdk::Client) -> T) -> T {
    let client = chalk_sdk::Client::builder()
        .base_url(&env.server.base_url)
        .master_key(crate::common::MASTER_KEY)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(f(&client))
}

#[test]
fn a_change_between_plan_and_apply_is_exit_6_and_overwrites_nothing() {
    let env = Env::new();
    let (dir, path) = file(ACME);
    let secrets = dir.path().join("secrets.json");
    json_ok(op(&env).args(["apply", "-f", p(&path), "--secrets-out", p(&secrets)]));
    let id = tenant_id(&env, "acme");

    std::fs::write(&path, ACME.replace("es-ES", "pt-BR")).unwrap();
    let saved = dir.path().join("plan.json");
    let planned = fails(op(&env).args(["plan", "-f", p(&path)]), 10);
    std::fs::write(&saved, &planned.stdout).unwrap();

    // Someone else changes the tenant in between.
    json_ok(
        env.master()
            .args(["config", "set", &id, "transcription_language=de-DE"]),
    );
    let refused = fails(
        op(&env).args(["apply", "-f", p(&path), "--plan", p(&saved)]),
        6,
    );
    assert!(
        refused.stderr.contains("changed since the plan"),
        "{}",
        refused.stderr
    );
    let config = json_ok(env.master().args(["config", "get", &id]));
    assert_eq!(
        config["config"]["transcription_language"], "de-DE",
        "not overwritten"
    );

    // A fresh plan, unchanged when applied, goes through.
    let planned = fails(op(&env).args(["plan", "-f", p(&path)]), 10);
    std::fs::write(&saved, &planned.stdout).unwrap();
    json_ok(op(&env).args(["apply", "-f", p(&path), "--plan", p(&saved)]));
    let config = json_ok(env.master().args(["config", "get", &id]));
    assert_eq!(config["config"]["transcription_language"], "pt-BR");
}

/// The library's apply of a plan whose tenant changed since: its `If-Match` is refused
/// (412) and the other writer's change stays.
#[test]
fn applying_a_stale_plan_is_refused_by_if_match() {
    use chalk_sdk::provision::{self, NewSecret, ProvisionError, SecretSink};
    struct Refuse;
    impl SecretSink for Refuse {
        fn keep(&mut self, _: NewSecret) -> Result<(), String> {
            Err("no secret expected".into())
        }
    }
    let env = Env::new();
    let by_file = ACME.replace(
        r#"{ env = "ACME_WEBHOOK_SECRET" }"#,
        r#"{ file = "hook.whsec" }"#,
    );
    let (dir, path) = file(&by_file);
    std::fs::write(dir.path().join("hook.whsec"), HOOK_SECRET).unwrap();
    let secrets = dir.path().join("secrets.json");
    json_ok(
        env.master()
            .args(["apply", "-f", p(&path), "--secrets-out", p(&secrets)]),
    );
    let id = tenant_id(&env, "acme");
    std::fs::write(&path, by_file.replace("es-ES", "pt-BR")).unwrap();

    let error = sdk(&env, async |client| {
        let desired = provision::load(std::slice::from_ref(&path)).unwrap();
        let plan = provision::plan(client, &desired, false).await.unwrap();
        assert!(plan.has_changes());
        let someone_else = ConfigPatch {
            transcription_language: Patch::Set("de-DE".into()),
            ..Default::default()
        };
        client
            .tenants()
            .config(&id)
            .update(&someone_else)
            .await
            .unwrap();
        provision::apply(client, &plan, &mut Refuse)
            .await
            .unwrap_err()
    });
    match error {
        ProvisionError::Api { source, .. } => assert_eq!(source.status(), Some(412)),
        other => panic!("expected 412, got {other}"),
    }
    let config = json_ok(env.master().args(["config", "get", &id]));
    assert_eq!(config["config"]["transcription_language"], "de-DE");
}

#[test]
fn apply_killed_half_way_then_rerun_creates_nothing_twice() {
    let env = Env::new();
    let mut text = String::new();
    let count = 12;
    for i in 0..count {
        text.push_str(&format!(
            "[[tenant]]\nexternal_id = \"t{i:02}\"\nname = \"Tenant {i}\"\n\
             [[tenant.api_key]]\nname = \"a\"\nscopes = [\"rooms:read\"]\n\
             [[tenant.api_key]]\nname = \"b\"\nscopes = [\"tenant:read\"]\n\
             [[tenant.webhook_endpoint]]\nurl = \"https://hooks.example.com/t{i:02}\"\nevents = [\"*\"]\n"
        ));
    }
    let (dir, path) = file(&text);
    let secrets = dir.path().join("secrets.env");

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("chalk"))
        .env_clear()
        .env("CHALK_API_URL", &env.server.base_url)
        .env("CHALK_CONFIG_DIR", env.config.path())
        .env("CHALK_CREDENTIAL_STORE", "file")
        .env("CHALK_MASTER_KEY", crate::common::MASTER_KEY)
        .args(["apply", "-f", p(&path), "--secrets-out", p(&secrets)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as it has made something.
    loop {
        let listed = json_ok(env.master().args(["tenants", "list"]));
        if !listed.as_array().unwrap().is_empty() || child.try_wait().unwrap().is_some() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let made = json_ok(env.master().args(["tenants", "list", "--limit", "200"]));
    eprintln!(
        "killed after {} of {count} tenants",
        made.as_array().unwrap().len()
    );

    json_ok(
        env.master()
            .args(["apply", "-f", p(&path), "--secrets-out", p(&secrets)]),
    );
    fails(env.master().args(["plan", "-f", p(&path)]), 0);
    let all = json_ok(env.master().args(["tenants", "list", "--limit", "200"]));
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), count, "one tenant per declaration");
    for tenant in all {
        let keys = json_ok(
            env.master()
                .args(["keys", "list", tenant["id"].as_str().unwrap()]),
        );
        let mut names: Vec<_> = keys
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["primary"] == false)
            .map(|k| k["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a", "b"], "{}", tenant["external_id"]);
        let id = tenant["id"].as_str().unwrap().to_owned();
        let endpoints = sdk(&env, async |client| {
            let endpoints = client.tenants().webhook_endpoints(&id);
            endpoints.list(&Default::default()).await.unwrap().data
        });
        assert_eq!(endpoints.len(), 1, "{}", tenant["external_id"]);
    }
}

#[test]
fn under_github_actions_secrets_go_only_to_the_file_and_are_masked() {
    let env = Env::new();
    let (dir, path) = file(ACME);
    for (name, parse) in [("secrets.env", false), ("secrets.json", true)] {
        let secrets = dir.path().join(name);
        if parse {
            // A second tenant, so the JSON run creates something too.
            let second = ACME
                .replace("\"acme\"", "\"acme2\"")
                .replace("ops@", "ops2@");
            std::fs::write(&path, second).unwrap();
        }
        let out = run(op(&env).env("GITHUB_ACTIONS", "true").args([
            "-o",
            "table",
            "apply",
            "-f",
            p(&path),
            "--secrets-out",
            p(&secrets),
        ]));
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        for text in [&out.stdout, &out.stderr] {
            assert!(
                !text.contains("sk_live_") && !text.contains("whsec_"),
                "{text}"
            );
        }
        let held = std::fs::read_to_string(&secrets).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&secrets).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let keys: Vec<String> = if parse {
            let json: Value = serde_json::from_str(&held).unwrap();
            let tenant = &json["tenants"]["acme2"];
            vec![
                tenant["primary_key"].as_str().unwrap().to_owned(),
                tenant["api_keys"]["ci-read"].as_str().unwrap().to_owned(),
                tenant["api_keys"]["backend"].as_str().unwrap().to_owned(),
                tenant["webhook_endpoints"]["https://hooks.acme.edu/events"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ]
        } else {
            let mut keys: Vec<String> = held
                .lines()
                .map(|l| l.split_once('=').unwrap())
                .map(|(k, v)| {
                    assert!(k.starts_with("CHALK_ACME_"), "{k}");
                    v.to_owned()
                })
                .collect();
            keys.sort();
            keys
        };
        assert_eq!(keys.len(), 4, "{held}");
        // Each key is masked (its random part), and works.
        let masks: Vec<&str> = out
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("::add-mask::"))
            .collect();
        for key in &keys {
            let random = key
                .strip_prefix("sk_live_")
                .or_else(|| key.strip_prefix("whsec_"))
                .expect("an API key or a webhook secret");
            assert!(masks.contains(&random), "{key} not masked");
        }
        let api_key = keys.iter().find(|k| k.starts_with("sk_live_")).unwrap();
        json_ok(env.tenant(api_key).args(["whoami"]));
    }
}

#[test]
fn export_then_plan_shows_no_change() {
    let env = Env::new();
    let (dir, path) = file(ACME);
    let secrets = dir.path().join("secrets.env");
    json_ok(op(&env).args(["apply", "-f", p(&path), "--secrets-out", p(&secrets)]));
    // And a tenant made by hand, with more config than the file sets.
    let made =
        json_ok(
            env.master()
                .args(["tenants", "create", "Globex", "--external-id", "globex"]),
        );
    let globex = made["id"].as_str().unwrap();
    json_ok(env.master().args([
        "config",
        "set",
        globex,
        "force_recording=true",
        "transcription_keywords=a, b",
    ]));
    json_ok(env.master().args(["tenants", "suspend", globex, "--yes"]));

    let exported = dir.path().join("exported.toml");
    let out = run(env.master().args(["export", "--out", p(&exported)]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(text.contains("CHALK_ACME_WEBHOOK_SECRET"), "{text}");
    assert!(
        !text.contains("whsec_") && !text.contains("sk_live_"),
        "{text}"
    );

    assert!(
        text.contains("CHALK_ACME_WEBHOOK_HOOKS_ACME_EDU_EVENTS"),
        "the endpoint's secret is named as --secrets-out names it: {text}"
    );
    // The secrets the first apply wrote, and the webhook secret, fill the references in.
    let mut plan = env.master();
    plan.env("CHALK_ACME_WEBHOOK_SECRET", HOOK_SECRET);
    for line in std::fs::read_to_string(&secrets).unwrap().lines() {
        let (name, value) = line.split_once('=').unwrap();
        plan.env(name, value);
    }
    let plan = run(plan.args(["plan", "-f", p(&exported), "--prune"]));
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);

    // Only the tenants asked for; an unknown one is 5.
    let one = run(env.master().args(["export", "globex"]));
    assert!(one.stdout.contains("external_id = \"globex\"") && !one.stdout.contains("acme"));
    fails(env.master().args(["export", "nobody"]), 5);
}

#[test]
fn bad_files_name_the_place_and_change_nothing() {
    let env = Env::new();
    let (_dir, path) = file("[[tenant]]\nexternal_id = \"a\"\nname = \"A\"\nmax_rooms = 3\n");
    let out = fails(env.master().args(["plan", "-f", p(&path)]), 7);
    assert!(
        out.stderr
            .contains(&format!("{}:4:1: unknown field `max_rooms`", p(&path))),
        "{}",
        out.stderr
    );
    let (_dir, path) = file(
        "[[tenant]]\nexternal_id = \"a\"\nname = \"A\"\n[tenant.config.post_meeting_webhook]\nsecret = { env = \"NOT_SET_HERE\" }\n",
    );
    let out = fails(env.master().args(["apply", "-f", p(&path)]), 7);
    assert!(
        out.stderr.contains("NOT_SET_HERE is not set"),
        "{}",
        out.stderr
    );
    // The server's own checks: the tenant is not created.
    let (_dir, path) =
        file("[[tenant]]\nexternal_id = \"a\"\nname = \"A\"\nmax_concurrent_rooms = 0\n");
    let out = fails(
        env.master()
            .args(["apply", "-f", p(&path), "--secrets-out", "/dev/null"]),
        7,
    );
    assert!(
        out.stderr.contains("max_concurrent_rooms"),
        "{}",
        out.stderr
    );
    assert_eq!(
        json_ok(env.master().args(["tenants", "list"])),
        serde_json::json!([])
    );
}

/// Issue 25: a dotenv `--secrets-out` folds names into variables, so `acme-prod` and
/// `acme.prod`, or keys `ci-bot` and `ci_bot`, would share one and a secret shown once
/// would be lost. Such a plan is refused before any change, naming both — by the library
/// and by the CLI (exit 7) — and a JSON file, which keeps the names, takes it.
#[test]
fn secrets_that_would_share_a_dotenv_variable_are_refused_before_any_change() {
    use chalk_sdk::provision::{self, ProvisionError, SecretsFile};
    let env = Env::new();
    let two_tenants = "[[tenant]]\nexternal_id = \"acme-prod\"\nname = \"Acme\"\n\
                       [[tenant]]\nexternal_id = \"acme.prod\"\nname = \"Acme Dot\"\n";
    let (dir, path) = file(two_tenants);
    let dotenv = dir.path().join("secrets.env");

    let error = sdk(&env, async |client| {
        let desired = provision::load(std::slice::from_ref(&path)).unwrap();
        let plan = provision::plan(client, &desired, false).await.unwrap();
        provision::apply(client, &plan, &mut SecretsFile::new(dotenv.clone()))
            .await
            .unwrap_err()
    });
    match error {
        ProvisionError::SecretCollision(message) => assert!(
            message.contains("tenant `acme-prod`")
                && message.contains("tenant `acme.prod`")
                && message.contains("CHALK_ACME_PROD_PRIMARY_KEY"),
            "{message}"
        ),
        other => panic!("expected a collision, got {other}"),
    }
    let refused = fails(
        op(&env).args(["apply", "-f", p(&path), "--secrets-out", p(&dotenv)]),
        7,
    );
    assert!(
        refused.stderr.contains("`acme-prod`") && refused.stderr.contains("`acme.prod`"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        json_ok(env.master().args(["tenants", "list"])),
        serde_json::json!([]),
        "nothing was created"
    );
    assert!(!dotenv.exists(), "nothing was written");

    // JSON keeps both, each under its own name.
    let json = dir.path().join("secrets.json");
    json_ok(op(&env).args(["apply", "-f", p(&path), "--secrets-out", p(&json)]));
    let held: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let dash = held["tenants"]["acme-prod"]["primary_key"]
        .as_str()
        .unwrap();
    let dot = held["tenants"]["acme.prod"]["primary_key"]
        .as_str()
        .unwrap();
    assert_ne!(dash, dot);
    for (key, external_id) in [(dash, "acme-prod"), (dot, "acme.prod")] {
        let id = tenant_id(&env, external_id);
        let me = json_ok(env.tenant(key).args(["tenants", "get", &id]));
        assert_eq!(
            me["external_id"], external_id,
            "each key is its own tenant's"
        );
    }

    // Two keys of an existing tenant: nothing is created either.
    let with_keys = "[[tenant]]\nexternal_id = \"acme.prod\"\nname = \"Acme Dot\"\n\
                     [[tenant.api_key]]\nname = \"ci-bot\"\nscopes = [\"rooms:read\"]\n\
                     [[tenant.api_key]]\nname = \"ci_bot\"\nscopes = [\"tenant:read\"]\n";
    std::fs::write(&path, with_keys).unwrap();
    let refused = fails(
        op(&env).args(["apply", "-f", p(&path), "--secrets-out", p(&dotenv)]),
        7,
    );
    assert!(
        refused.stderr.contains("API key `ci-bot`") && refused.stderr.contains("API key `ci_bot`"),
        "{}",
        refused.stderr
    );
    let keys = json_ok(
        env.master()
            .args(["keys", "list", &tenant_id(&env, "acme.prod")]),
    );
    assert_eq!(
        keys.as_array().unwrap().len(),
        1,
        "only the primary key: {keys}"
    );
    assert!(!dotenv.exists());
    assert!(!refused.stderr.contains("hint:"), "{}", refused.stderr);
}
