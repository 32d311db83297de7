//! A real `chalk-server` process on port 0, configured by environment variables, killed
//! when dropped.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const MASTER_KEY: &str = "mk_instances_test_master_key_0123456789";
pub const JWT_SECRET: &str = "instances-test-jwt-secret-0123456789-abcdefghij";
/// 32 bytes, base64.
pub const ENCRYPTION_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

pub struct Instance {
    child: Child,
    pub base: String,
    _data_dir: tempfile::TempDir,
}

impl Instance {
    /// Starts the binary with explicit secrets plus `env`, and waits for its address.
    pub fn start(env: &[(&str, &str)]) -> Instance {
        Self::spawn(env).ready()
    }

    /// Starts the binary without waiting: several can start at once.
    pub fn spawn(env: &[(&str, &str)]) -> Starting {
        let data_dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_chalk-server"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CHALK_LISTEN", "127.0.0.1:0")
            .env("CHALK_DATA_DIR", data_dir.path())
            .env("CHALK_LOG_FORMAT", "json")
            .env("CHALK_LOG", "info")
            .env("CHALK_MASTER_KEY", MASTER_KEY)
            .env("CHALK_JWT_SECRET", JWT_SECRET)
            .env("CHALK_ENCRYPTION_KEY", ENCRYPTION_KEY);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chalk-server");
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Starting {
            child,
            lines: rx,
            data_dir,
        }
    }
}

/// A process started but not yet listening.
pub struct Starting {
    child: Child,
    lines: mpsc::Receiver<String>,
    data_dir: tempfile::TempDir,
}

impl Starting {
    /// Waits until the server logs its address.
    pub fn ready(self) -> Instance {
        let Starting {
            mut child,
            lines: rx,
            data_dir,
        } = self;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            assert!(Instant::now() < deadline, "server did not start: {seen:?}");
            if let Some(status) = child.try_wait().unwrap() {
                panic!("server exited with {status}: {seen:?}");
            }
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
                if let Ok(event) = serde_json::from_str::<Value>(&line)
                    && event["message"] == "chalk-server listening"
                {
                    let base = format!("http://{}/api/v1", event["address"].as_str().unwrap());
                    return Instance {
                        child,
                        base,
                        _data_dir: data_dir,
                    };
                }
                seen.push(line);
            }
        }
    }
}

impl Instance {
    /// Sends SIGTERM (a graceful shutdown) and waits for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        self.child.wait().expect("wait for the server")
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one request; returns status and JSON body (`Null` when there is none).
pub async fn call(
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
