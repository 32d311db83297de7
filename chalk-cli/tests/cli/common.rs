//! A real `chalk-server` on 127.0.0.1:0 (its own runtime thread, temp data dir, known master
//! key) and the `chalk` binary run against it with a clean environment and a temp config dir.

use std::sync::mpsc;
use std::thread;

use assert_cmd::Command;
use chalk_server::app::settings::Settings;
use clap::Parser;
use serde_json::Value;

pub const MASTER_KEY: &str = "cli-e2e-master-key-0123456789abcdefghijk";

pub struct Server {
    pub base_url: String,
    _data_dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Server {
    pub fn start() -> Server {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let settings = Settings::parse_from([
            "chalk-server",
            "--data-dir",
            &data_dir.path().display().to_string(),
            "--master-key",
            MASTER_KEY,
            "--log",
            "warn",
        ]);
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let (state, _) = chalk_server::app::startup::build_state(&settings)
                    .await
                    .expect("server state");
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                let url = format!("http://{}", listener.local_addr().unwrap());
                ready_tx.send(url).unwrap();
                chalk_server::serve(listener, state, async {
                    let _ = stopped.await;
                })
                .await
                .expect("serve");
            });
        });
        let base_url = ready_rx.recv().expect("server started");
        Server {
            base_url,
            _data_dir: data_dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A server and a CLI configuration directory of its own.
pub struct Env {
    pub server: Server,
    pub config: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            server: Server::start(),
            config: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// `chalk` with no credential: only the server URL, the config dir, the file store.
    pub fn chalk(&self) -> Command {
        let mut cmd = Command::cargo_bin("chalk").expect("chalk binary");
        cmd.env_clear()
            .env("CHALK_API_URL", &self.server.base_url)
            .env("CHALK_CONFIG_DIR", self.config.path())
            .env("CHALK_CREDENTIAL_STORE", "file")
            .env("CHALK_RETRIES", "0")
            .write_stdin("");
        cmd
    }

    /// `chalk` as the operator, through the environment (as a CI job would).
    pub fn master(&self) -> Command {
        let mut cmd = self.chalk();
        cmd.env("CHALK_MASTER_KEY", MASTER_KEY);
        cmd
    }

    /// `chalk` as a tenant, through the environment.
    pub fn tenant(&self, api_key: &str) -> Command {
        let mut cmd = self.chalk();
        cmd.env("CHALK_API_KEY", api_key);
        cmd
    }

    /// Creates a tenant as the operator; returns (id, api key).
    pub fn create_tenant(&self, name: &str) -> (String, String) {
        let created = json_ok(self.master().args(["tenants", "create", name]));
        (
            created["id"].as_str().unwrap().to_owned(),
            created["api_key"].as_str().unwrap().to_owned(),
        )
    }
}

pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Outcome {
    let output = cmd.output().expect("run chalk");
    Outcome {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
    }
}

/// Runs, expects exit 0 and JSON on stdout (the default when stdout is not a terminal).
pub fn json_ok(cmd: &mut Command) -> Value {
    let out = run(cmd);
    assert_eq!(
        out.code, 0,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", out.stdout))
}

/// Runs, expects `code`, and returns the outcome.
pub fn fails(cmd: &mut Command, code: i32) -> Outcome {
    let out = run(cmd);
    assert_eq!(
        out.code, code,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out
}
