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
        Self::start_with(data_dir, &[])
    }

    /// With more environment variables (settings) than the defaults.
    fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_chalk-server"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CHALK_LISTEN", "127.0.0.1:0")
            .env("CHALK_DATA_DIR", data_dir)
            .env("CHALK_LOG_FORMAT", "json")
            .env("CHALK_LOG", "debug");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
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
        std::mem::take(&mut self.seen)
    }
}

/// A test that fails half-way must not leave its server running (holding its ports and
/// whatever descriptors it inherited).
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

    // A clean stop closes the store: SQLite checkpointed its log into the database and
    // removed it, so the restart below has none to recover.
    assert!(
        !dir.path().join("chalk.db-wal").exists(),
        "the write-ahead log is gone after a clean stop"
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

// ---- Issue #11: the connection layer, file modes, logs and start-up checks ----

impl Server {
    fn address(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    fn master_key(data_dir: &Path) -> String {
        std::fs::read_to_string(data_dir.join("master.key"))
            .unwrap()
            .trim()
            .to_owned()
    }
}

/// Reads until the server closes the connection or `limit` passes; returns what came and
/// whether the connection was closed (rather than still open at the limit).
fn read_until_closed(stream: &mut std::net::TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    use std::io::Read;
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, false);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (out, false);
            }
            // A reset is a close too.
            Err(_) => return (out, true),
        }
    }
}

/// One raw HTTP/1.1 response: status, lower-cased headers, body.
fn parse_response(bytes: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let text = String::from_utf8_lossy(bytes);
    let (head, _) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete response: {text:?}"));
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = bytes[head.len() + 4..].to_vec();
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Reads one response with a `content-length` body, leaving the connection open.
fn read_one_response(stream: &mut std::net::TcpStream) -> (u16, Vec<u8>) {
    use std::io::Read;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed before a whole response: {out:?}");
        out.extend_from_slice(&buf[..n]);
        if let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
            let (status, headers, _) = parse_response(&out);
            let length: usize = header(&headers, "content-length").unwrap().parse().unwrap();
            if out.len() >= end + 4 + length {
                return (status, out[end + 4..end + 4 + length].to_vec());
            }
        }
    }
}

fn connect(server: &Server) -> std::net::TcpStream {
    std::net::TcpStream::connect(server.address()).unwrap()
}

fn send(stream: &mut std::net::TcpStream, bytes: &[u8]) {
    use std::io::Write;
    stream.write_all(bytes).unwrap();
    stream.flush().unwrap();
}

/// Item 3: headers due within the header timeout, bodies within the body timeout, and an
/// idle keep-alive connection kept until the (longer) idle timeout, then closed.
#[test]
fn slow_headers_slow_bodies_and_idle_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[
            ("CHALK_HEADER_READ_TIMEOUT", "1s"),
            ("CHALK_BODY_READ_TIMEOUT", "1s"),
            ("CHALK_IDLE_TIMEOUT", "4s"),
        ],
    );
    let master_key = Server::master_key(dir.path());

    // Half-sent headers, and a connection that sends nothing at all.
    let mut half = connect(&server);
    send(&mut half, b"GET /healthz HTTP/1.1\r\nHost: chalk\r\n");
    let mut silent = connect(&server);
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut half, Duration::from_secs(5));
    assert!(closed, "half-sent headers are cut off");
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5));
    assert!(closed, "a silent connection is cut off");
    assert!(started.elapsed() >= Duration::from_millis(800));

    // A body that stops halfway: refused once the body timeout passes.
    let mut slow = connect(&server);
    send(
        &mut slow,
        format!(
            "POST /api/v1/tenants HTTP/1.1\r\nHost: chalk\r\nX-Master-Key: {master_key}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\": "
        )
        .as_bytes(),
    );
    let started = Instant::now();
    let (bytes, _) = read_until_closed(&mut slow, Duration::from_secs(5));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the slow body is not waited for"
    );
    let (status, _, body) = parse_response(&bytes);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&bytes));
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], "INVALID_REQUEST");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("timeout"),
        "{body}"
    );

    // Keep-alive: still open past the header timeout, closed by the idle timeout.
    let mut idle = connect(&server);
    send(&mut idle, b"GET /healthz HTTP/1.1\r\nHost: chalk\r\n\r\n");
    let (status, _) = read_one_response(&mut idle);
    assert_eq!(status, 200);
    let served = Instant::now();
    let (_, closed) = read_until_closed(&mut idle, Duration::from_millis(2500));
    assert!(
        !closed,
        "an idle keep-alive connection outlives the header timeout"
    );
    send(&mut idle, b"GET /healthz HTTP/1.1\r\nHost: chalk\r\n\r\n");
    let (status, _) = read_one_response(&mut idle);
    assert_eq!(status, 200, "and it is still usable");
    let reused = Instant::now();
    let (_, closed) = read_until_closed(&mut idle, Duration::from_secs(8));
    assert!(closed, "an idle keep-alive connection is closed");
    assert!(
        reused.elapsed() >= Duration::from_millis(3500),
        "{:?}",
        served.elapsed()
    );
    server.stop();
}

/// Item 3: at most CHALK_MAX_CONNECTIONS open; one more waits until one closes.
#[test]
fn open_connections_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("CHALK_MAX_CONNECTIONS", "2")]);
    let holders = [connect(&server), connect(&server)];
    std::thread::sleep(Duration::from_millis(300));
    let mut waiting = connect(&server);
    send(
        &mut waiting,
        b"GET /healthz HTTP/1.1\r\nHost: chalk\r\nConnection: close\r\n\r\n",
    );
    let (bytes, closed) = read_until_closed(&mut waiting, Duration::from_millis(1500));
    assert!(
        bytes.is_empty() && !closed,
        "a third connection is not served while two are open"
    );
    drop(holders);
    let (bytes, closed) = read_until_closed(&mut waiting, Duration::from_secs(5));
    assert!(closed);
    let (status, _, body) = parse_response(&bytes);
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["status"],
        "ok"
    );
    server.stop();
}

/// Item 3: SIGTERM ends the process within CHALK_SHUTDOWN_GRACE even while a client holds
/// a request whose body never comes.
#[test]
fn sigterm_exits_within_the_grace_despite_a_stuck_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[
            ("CHALK_SHUTDOWN_GRACE", "1s"),
            ("CHALK_BODY_READ_TIMEOUT", "120s"),
            ("CHALK_HEADER_READ_TIMEOUT", "120s"),
        ],
    );
    let master_key = Server::master_key(dir.path());
    let mut stuck = connect(&server);
    send(
        &mut stuck,
        format!(
            "POST /api/v1/tenants HTTP/1.1\r\nHost: chalk\r\nX-Master-Key: {master_key}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
        )
        .as_bytes(),
    );
    let mut half = connect(&server);
    send(&mut half, b"GET /healthz HTTP/1.1\r\nHost: chalk\r\n");
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let lines = server.stop();
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "stopped after {:?}",
        started.elapsed()
    );
    assert!(
        lines.iter().any(|l| l.contains("shutdown grace elapsed")),
        "{lines:?}"
    );
    drop(half);
}

/// Item 12: the data directory 0700 and every file in it 0600, SQLite's own included.
#[cfg(unix)]
#[test]
fn the_data_directory_and_every_file_in_it_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    let server = Server::start(&dir);
    let master_key = Server::master_key(&dir);
    let mut stream = connect(&server);
    let body = r#"{"name": "Acme"}"#;
    send(
        &mut stream,
        format!(
            "POST /api/v1/tenants HTTP/1.1\r\nHost: chalk\r\nX-Master-Key: {master_key}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let (status, _) = read_one_response(&mut stream);
    assert_eq!(status, 201);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "data directory");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for expected in [
        "chalk.db",
        "chalk.db-shm",
        "chalk.db-wal",
        "encryption.key",
        "master.key",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    // EdDSA (the default) signs with keys sealed in the store: no JWT secret is generated.
    assert!(!names.iter().any(|n| n == "jwt.secret"), "{names:?}");
    for name in &names {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
    server.stop();
}

/// Item 13: what hyper refuses before the router sees it still gets the envelope.
#[test]
fn refusals_of_the_http_layer_carry_the_error_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let many_headers: String = (0..150).map(|n| format!("X-Filler-{n}: {n}\r\n")).collect();
    for (request, status) in [
        (
            format!(
                "GET /{} HTTP/1.1\r\nHost: chalk\r\n\r\n",
                "a".repeat(100_000)
            ),
            414,
        ),
        (
            format!("GET /healthz HTTP/1.1\r\nHost: chalk\r\n{many_headers}\r\n"),
            431,
        ),
        ("NOT A REQUEST LINE\r\n\r\n".to_owned(), 400),
        (
            "GET /healthz HTTP/1.1\r\nHost: chalk\r\nX-Folded: a\r\n  b\r\n\r\n".to_owned(),
            400,
        ),
    ] {
        let mut stream = connect(&server);
        send(&mut stream, request.as_bytes());
        let (bytes, _) = read_until_closed(&mut stream, Duration::from_secs(5));
        let (got, headers, body) = parse_response(&bytes);
        assert_eq!(got, status, "{}", String::from_utf8_lossy(&bytes));
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        let body: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("{status}: {}", String::from_utf8_lossy(&bytes)));
        assert_eq!(body["error"]["code"], "INVALID_REQUEST", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert_eq!(
            body["error"]["request_id"].as_str(),
            header(&headers, "x-request-id"),
            "{body}"
        );
    }
    // The server is unharmed.
    let mut stream = connect(&server);
    send(&mut stream, b"GET /healthz HTTP/1.1\r\nHost: chalk\r\n\r\n");
    assert_eq!(read_one_response(&mut stream).0, 200);
    server.stop();
}

/// Item 16: colour codes only on a terminal; here stderr is a pipe.
#[test]
fn text_logs_written_to_a_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_chalk-server"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CHALK_LISTEN", "127.0.0.1:0")
        .env("CHALK_DATA_DIR", dir.path())
        .env("CHALK_LOG_FORMAT", "text")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    for line in stderr.lines().map_while(Result::ok) {
        let listening = line.contains("chalk-server listening");
        seen.push(line);
        if listening {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.iter().any(|l| l.contains("chalk-server listening")),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|l| !l.contains('\u{1b}')),
        "ANSI escapes in a piped log: {seen:?}"
    );
}

/// Item 6: an operator-set master key shorter than 32 characters is refused at start.
#[test]
fn a_short_master_key_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let short = "only-31-characters-long-0123456";
    assert_eq!(short.len(), 31);
    let mut child = Command::new(env!("CARGO_BIN_EXE_chalk-server"))
        .env("CHALK_DATA_DIR", dir.path())
        .env("CHALK_LISTEN", "127.0.0.1:0")
        .env("CHALK_MASTER_KEY", short)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A server that accepts the key would run on: give it a few seconds, then fail.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started with a 31-character master key");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("CHALK_MASTER_KEY is too short") && stderr.contains("at least 32"),
        "{stderr}"
    );
    assert!(!stderr.contains(short), "the rejected key is not echoed");
}

/// Group commit acknowledges a write only after the COMMIT that made it durable: killed
/// with SIGKILL in the middle of a burst of concurrent creates, the server loses none of
/// the tenants it answered 201 for (and a restart serves every one of them).
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_a_write_burst_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let master = Server::master_key(dir.path());
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let writers: Vec<_> = (0..32)
        .map(|w| {
            let (client, base, master) = (client.clone(), base.clone(), master.clone());
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    let sent = client
                        .post(format!("{base}/api/v1/tenants"))
                        .header("X-Master-Key", &master)
                        .json(&json!({"name": format!("Burst {w}-{i}")}))
                        .send()
                        .await;
                    let Ok(response) = sent else { break };
                    if response.status() != 201 {
                        break;
                    }
                    let Ok(body) = response.json::<Value>().await else {
                        break;
                    };
                    let id = body["data"]["id"].as_str().unwrap().to_owned();
                    acknowledged.lock().unwrap().push(id);
                }
            })
        })
        .collect();
    // Let the burst run until plenty were acknowledged, then kill -9 mid-flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < 300 {
        assert!(Instant::now() < deadline, "the burst made no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 300);

    let server = Server::start(dir.path());
    let mut missing = Vec::new();
    for id in &acknowledged {
        let (status, _) = call(
            &client,
            reqwest::Method::GET,
            format!("{}/api/v1/tenants/{id}", server.base),
            &[("X-Master-Key", &master)],
            None,
        )
        .await;
        if status != 200 {
            missing.push((id.clone(), status));
        }
    }
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    server.stop();
}

/// Usage metering's request counters live in memory between flushes: a graceful shutdown
/// writes what the last seconds counted, so a restart reads every request.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_flushes_the_usage_counters() {
    let dir = tempfile::tempdir().unwrap();
    let master = "mk_usage_flush_test_master_key_0123456789";
    let env = [
        ("CHALK_MASTER_KEY", master),
        (
            "CHALK_ENCRYPTION_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        ),
    ];
    let server = Server::start_with(dir.path(), &env);
    let client = reqwest::Client::new();
    let api = format!("{}/api/v1", server.base);
    let (status, created) = call(
        &client,
        reqwest::Method::POST,
        format!("{api}/tenants"),
        &[("X-Master-Key", master)],
        Some(json!({"name": "Flushed"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let tenant = created["data"]["id"].as_str().unwrap().to_owned();
    let key = created["data"]["api_key"].as_str().unwrap().to_owned();
    for _ in 0..7 {
        let (status, _) = call(
            &client,
            reqwest::Method::GET,
            format!("{api}/tenant"),
            &[("X-API-Key", &key)],
            None,
        )
        .await;
        assert_eq!(status, 200);
    }
    let (status, body) = call(
        &client,
        reqwest::Method::POST,
        format!("{api}/rooms/flushed/participants"),
        &[("X-API-Key", &key)],
        Some(json!({"display_name": "Ada"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    server.stop();

    let server = Server::start_with(dir.path(), &env);
    let api = format!("{}/api/v1", server.base);
    let (status, usage) = call(
        &client,
        reqwest::Method::GET,
        format!("{api}/tenants/{tenant}/usage"),
        &[("X-Master-Key", master)],
        None,
    )
    .await;
    assert_eq!(status, 200, "{usage}");
    let totals = &usage["totals"];
    assert_eq!(totals["api_requests"], 8, "7 reads and a join: {totals}");
    assert_eq!(totals["participants_joined"], 1, "{totals}");
    assert_eq!(totals["peak_participants"], 1, "still present: {totals}");
    server.stop();
}

/// Usage metering through kill -9 (docs/api.md "Usage metering": a kill -9 loses at most the
/// flush window of request counts, nothing else). The time metrics commit with the joins
/// that change them: after a SIGKILL in the middle of a burst of joins, usage counts exactly
/// the participants and rooms the restarted server holds, and requests made more than a
/// flush interval before the kill are all counted.
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_loses_no_time_metric_and_only_the_last_flush_window_of_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let master = Server::master_key(dir.path());
    let client = reqwest::Client::new();
    let api = format!("{}/api/v1", server.base);
    let (status, created) = call(
        &client,
        reqwest::Method::POST,
        format!("{api}/tenants"),
        &[("X-Master-Key", &master)],
        Some(json!({"name": "Killed", "max_concurrent_rooms": 1000,
            "max_participants_per_room": 10000, "rate_limit_per_minute": 100000,
            "config": {"allow_early_join": true}})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let tenant = created["data"]["id"].as_str().unwrap().to_owned();
    let key = created["data"]["api_key"].as_str().unwrap().to_owned();
    for _ in 0..20 {
        let (status, _) = call(
            &client,
            reqwest::Method::GET,
            format!("{api}/tenant"),
            &[("X-API-Key", &key)],
            None,
        )
        .await;
        assert_eq!(status, 200);
    }
    // Past a flush of the counters (every 5 s).
    tokio::time::sleep(Duration::from_millis(6500)).await;

    let acknowledged = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let joiners: Vec<_> = (0..16)
        .map(|w| {
            let (client, api, key) = (client.clone(), api.clone(), key.clone());
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    let sent = client
                        .post(format!("{api}/rooms/burst-{}/participants", i % 4))
                        .header("X-API-Key", &key)
                        .json(&json!({"display_name": format!("Student {w}-{i}")}))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status() == 201 => {
                            acknowledged.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        _ => break,
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.load(std::sync::atomic::Ordering::SeqCst) < 100 {
        assert!(Instant::now() < deadline, "the burst made no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for joiner in joiners {
        joiner.await.unwrap();
    }
    let acknowledged = acknowledged.load(std::sync::atomic::Ordering::SeqCst) as i64;

    let server = Server::start(dir.path());
    let api = format!("{}/api/v1", server.base);
    let master_header = [("X-Master-Key", master.as_str())];
    let (status, held) = call(
        &client,
        reqwest::Method::GET,
        format!("{api}/tenants/{tenant}"),
        &master_header,
        None,
    )
    .await;
    assert_eq!(status, 200, "{held}");
    let present = held["data"]["usage"]["active_participants"]
        .as_i64()
        .unwrap();
    let rooms = held["data"]["usage"]["total_rooms"].as_i64().unwrap();
    let (status, usage) = call(
        &client,
        reqwest::Method::GET,
        format!("{api}/tenants/{tenant}/usage?granularity=hour"),
        &master_header,
        None,
    )
    .await;
    assert_eq!(status, 200, "{usage}");
    let totals = &usage["totals"];
    // Every acknowledged join is there (and any that committed unanswered), counted once.
    assert!(present >= acknowledged, "{present} < {acknowledged}");
    assert_eq!(totals["participants_joined"], present, "{totals}");
    assert_eq!(
        totals["peak_participants"], present,
        "nobody left: {totals}"
    );
    assert_eq!(totals["rooms_created"], rooms, "{totals}");
    assert_eq!(rooms, 4, "{held}");
    let requests = totals["api_requests"].as_i64().unwrap();
    assert!(
        requests >= 20,
        "the reads flushed before the kill: {totals}"
    );
    server.stop();
}
