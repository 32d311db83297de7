//! The real `chalk-server` binary, as an operator runs it: generated secrets, port 0,
//! JSON logs that never contain a secret, graceful shutdown on SIGTERM, and a restart
//! that keeps everything acknowledged.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    base: String,
    lines: mpsc::Receiver<String>,
    /// Every line the server wrote (stdout and stderr) so far.
    seen: Vec<String>,
}

impl Server {
    fn start(data_dir: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chalk-server"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CHALK_LISTEN", "127.0.0.1:0")
            .env("CHALK_DATA_DIR", data_dir)
            .env("CHALK_LOG_FORMAT", "json")
            .env("CHALK_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chalk-server");
        let (tx, rx) = mpsc::channel();
        let streams: [Box<dyn std::io::Read + Send>; 2] = [
            Box::new(child.stderr.take().unwrap()),
            Box::new(child.stdout.take().unwrap()),
        ];
        for stream in streams {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut server = Server {
            child,
            base: String::new(),
            lines: rx,
            seen: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.base.is_empty() {
            assert!(
                Instant::now() < deadline,
                "server did not start: {:?}",
                server.seen
            );
            if let Ok(line) = server.lines.recv_timeout(Duration::from_millis(200)) {
                if let Ok(event) = serde_json::from_str::<Value>(&line)
                    && event["message"] == "chalk-server listening"
                {
                    server.base = format!("http://{}", event["address"].as_str().unwrap());
                }
                server.seen.push(line);
            }
        }
        server
    }

    fn drain(&mut self) {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(300)) {
            self.seen.push(line);
        }
    }

    /// SIGTERM, then wait for a clean exit.
    fn stop(mut self) -> Vec<String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit status after SIGTERM: {status}");
                break;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.drain();
        self.seen
    }
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn operator_lifecycle_keeps_secrets_out_of_logs_and_data_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let (get, post) = (reqwest::Method::GET, reqwest::Method::POST);

    let mut server = Server::start(dir.path());
    server.drain();
    let master_key = std::fs::read_to_string(dir.path().join("master.key"))
        .unwrap()
        .trim()
        .to_owned();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let banner_lines = server
        .seen
        .iter()
        .filter(|l| l.contains(&master_key))
        .count();
    assert_eq!(
        banner_lines, 1,
        "the generated master key is printed exactly once"
    );

    let base = server.base.clone();
    let (status, created) = call(
        &client,
        post.clone(),
        format!("{base}/api/v1/tenants"),
        &[("X-Master-Key", &master_key)],
        Some(json!({"name": "Acme", "config": {"post_meeting_webhook": {
            "enabled": true, "url": "https://hooks.acme.edu/chalk", "secret": "whsec_TopSecretTopSecretTopSecretTopSecret0123",
            "ai": {"provider": "openai", "api_key": "sk-provider-secret-999", "model": "gpt-4o"}}}})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let api_key = created["data"]["api_key"].as_str().unwrap().to_owned();
    let tenant_id = created["data"]["id"].as_str().unwrap().to_owned();

    let (status, pair) = call(
        &client,
        post.clone(),
        format!("{base}/api/v1/auth/token"),
        &[],
        Some(json!({"api_key": api_key})),
    )
    .await;
    assert_eq!(status, 200);
    let access = pair["data"]["access_token"].as_str().unwrap().to_owned();
    let refresh = pair["data"]["refresh_token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {access}");
    let (status, _) = call(
        &client,
        get.clone(),
        format!("{base}/api/v1/tenant"),
        &[("Authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, refreshed) = call(
        &client,
        post.clone(),
        format!("{base}/api/v1/auth/refresh"),
        &[],
        Some(json!({"refresh_token": refresh})),
    )
    .await;
    assert_eq!(status, 200);
    let successor = refreshed["data"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // More acknowledged writes that must survive the restart: a config change, an extra
    // key, and an idempotent create whose replay must still return the same tenant.
    let (status, _) = call(
        &client,
        reqwest::Method::PATCH,
        format!("{base}/api/v1/tenants/{tenant_id}/config"),
        &[("X-API-Key", &api_key)],
        Some(json!({"transcription_language": "es-ES", "allowed_origins": ["https://acme.edu"]})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, extra) = call(
        &client,
        post.clone(),
        format!("{base}/api/v1/tenants/{tenant_id}/api-keys"),
        &[("X-Master-Key", &master_key)],
        Some(json!({"name": "ci", "scopes": ["tenant:read"]})),
    )
    .await;
    assert_eq!(status, 201);
    let extra_key = extra["data"]["api_key"].as_str().unwrap().to_owned();
    let (status, idempotent) = call(
        &client,
        post.clone(),
        format!("{base}/api/v1/tenants"),
        &[
            ("X-Master-Key", &master_key),
            ("Idempotency-Key", "restart-1"),
        ],
        Some(json!({"name": "Globex"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = call(
        &client,
        get.clone(),
        format!("{base}/api/v1/tenant"),
        &[("X-API-Key", "sk_live_wrongwrongwrongwrongwrongwrong12")],
        None,
    )
    .await;
    assert_eq!(status, 401);

    let lines = server.stop();
    let secrets = [
        api_key.as_str(),
        access.as_str(),
        extra_key.as_str(),
        successor.as_str(),
        refresh.as_str(),
        "whsec_TopSecretTopSecretTopSecretTopSecret0123",
        "sk-provider-secret-999",
        "sk_live_wrongwrong",
    ];
    for line in &lines {
        for secret in secrets {
            assert!(!line.contains(secret), "a secret reached the log: {line}");
        }
        if line.contains(&master_key) {
            assert!(
                !line.starts_with('{'),
                "the master key reached a log event: {line}"
            );
        }
    }
    assert!(
        lines.iter().any(|l| l.contains("shutting down")),
        "graceful shutdown is logged: {lines:?}"
    );

    // Restart on the same data directory: nothing acknowledged is lost, and the master
    // key is not printed again.
    let mut server = Server::start(dir.path());
    server.drain();
    assert!(server.seen.iter().all(|l| !l.contains(&master_key)));
    let base = server.base.clone();
    let (status, tenant) = call(
        &client,
        get.clone(),
        format!("{base}/api/v1/tenants/{tenant_id}"),
        &[("X-API-Key", &api_key)],
        None,
    )
    .await;
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(tenant["data"]["name"], "Acme");
    assert_eq!(
        tenant["data"]["config"]["post_meeting_webhook"]["secret"],
        "****0123"
    );
    let (status, _) = call(
        &client,
        get.clone(),
        format!("{base}/api/v1/tenant"),
        &[("Authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(
        status, 200,
        "tokens survive a restart: the signing secret is kept"
    );
    let (status, config) = call(
        &client,
        get.clone(),
        format!("{base}/api/v1/tenants/{tenant_id}/config"),
        &[("X-API-Key", &extra_key)],
        None,
    )
    .await;
    assert_eq!(status, 200, "the extra key survived: {config}");
    assert_eq!(config["data"]["config"]["transcription_language"], "es-ES");
    assert_eq!(
        config["data"]["config"]["allowed_origins"],
        json!(["https://acme.edu"])
    );
    let (status, replay) = call(
        &client,
        post.clone(),
        format!("{base}/api/v1/tenants"),
        &[
            ("X-Master-Key", &master_key),
            ("Idempotency-Key", "restart-1"),
        ],
        Some(json!({"name": "Globex"})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(replay, idempotent, "the idempotency record survived");
    // The single use of the first refresh token was recorded: its successor works once,
    // and the spent token stays spent.
    let (status, _) = call(
        &client,
        post.clone(),
        format!("{base}/api/v1/auth/refresh"),
        &[],
        Some(json!({"refresh_token": successor})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(
        &client,
        post,
        format!("{base}/api/v1/auth/refresh"),
        &[],
        Some(json!({"refresh_token": refresh})),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "INVALID_REFRESH_TOKEN");
    server.stop();
}

#[test]
fn bad_settings_fail_fast_with_a_plain_message() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_chalk-server"))
        .env("CHALK_DATA_DIR", dir.path())
        .env("CHALK_LISTEN", "127.0.0.1:0")
        .env("CHALK_JWT_SECRET", "too-short")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("CHALK_JWT_SECRET must be at least 32 characters"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("too-short"),
        "the rejected secret is not echoed"
    );
}
