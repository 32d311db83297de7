//! The real binary for the backup tests: a server on a data directory of the test's choosing,
//! the backup commands run as an operator runs them, and a webhook receiver.

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::support::server::{ENCRYPTION_KEY, MASTER_KEY, call};

pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chalk-server"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

/// A server on `data_dir` with the test's master and encryption keys plus `env`.
pub struct Server {
    child: Child,
    pub base: String,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Server {
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut command = binary();
        command
            .env("CHALK_LISTEN", "127.0.0.1:0")
            .env("CHALK_DATA_DIR", data_dir)
            .env("CHALK_LOG_FORMAT", "json")
            .env("CHALK_LOG", "info")
            .env("CHALK_MASTER_KEY", MASTER_KEY)
            .env("CHALK_ENCRYPTION_KEY", ENCRYPTION_KEY)
            .env("CHALK_WEBHOOK_ALLOW_PRIVATE", "true");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chalk-server");
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            base: String::new(),
            lines,
            seen: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.base.is_empty() {
            assert!(Instant::now() < deadline, "no start: {:?}", server.seen);
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("server exited with {status}: {:?}", server.seen);
            }
            if let Ok(line) = server.lines.recv_timeout(Duration::from_millis(100)) {
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
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
    }

    /// Log events whose message is `message`.
    pub fn events(&mut self, message: &str) -> Vec<Value> {
        self.drain();
        self.seen
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|event| event["message"] == message)
            .collect()
    }

    /// SIGTERM, and a clean exit.
    pub fn stop(mut self) -> Vec<String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(self.child.wait().unwrap().success());
        self.drain();
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a backup command with the server's settings for `data_dir` and `key`.
pub fn command(data_dir: &Path, key: Option<&str>, args: &[&str]) -> Output {
    let mut command = binary();
    command.env("CHALK_DATA_DIR", data_dir).args(args);
    if let Some(key) = key {
        command.env("CHALK_ENCRYPTION_KEY", key);
    }
    command.output().expect("run chalk-server")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub async fn create_tenant(client: &reqwest::Client, base: &str, body: Value) -> Value {
    let (status, created) = call(
        client,
        reqwest::Method::POST,
        format!("{base}/api/v1/tenants"),
        &[("X-Master-Key", MASTER_KEY)],
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    created["data"].clone()
}

/// One webhook delivery as received: headers and body.
pub type Delivery = (HashMap<String, String>, Vec<u8>);

/// Receives webhook deliveries.
#[derive(Clone, Default)]
pub struct Receiver(Arc<Mutex<Vec<Delivery>>>);

impl Receiver {
    pub async fn start(&self) -> String {
        let received = self.0.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                    let headers = headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    received.lock().unwrap().push((headers, body.to_vec()));
                    axum::http::StatusCode::OK
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{address}/hook")
    }

    pub async fn wait_for_one(&self) -> Delivery {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(first) = self.0.lock().unwrap().first().cloned() {
                return first;
            }
            assert!(Instant::now() < deadline, "no delivery arrived");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
