//! A real `chalk-server` on `127.0.0.1:0` for end-to-end tests: its own temp data dir
//! and SQLite database, a known master key, stopped when dropped.

#![allow(dead_code)]

use chalk_server::app::settings::Settings;
use clap::Parser;
use tokio::sync::oneshot;

pub const MASTER_KEY: &str = "e2e-master-key-0123456789abcdefghijklmnop";

pub struct TestServer {
    pub base_url: String,
    pub data_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(&[]).await
    }

    /// `args` are extra `chalk-server` flags, e.g. `["--open-registration"]`.
    pub async fn start_with(args: &[&str]) -> TestServer {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut argv = vec![
            "chalk-server".to_owned(),
            "--data-dir".to_owned(),
            data_dir.path().display().to_string(),
            "--master-key".to_owned(),
            MASTER_KEY.to_owned(),
        ];
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        let settings = Settings::parse_from(argv);
        let (state, _) = chalk_server::app::startup::build_state(&settings)
            .await
            .expect("server state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            chalk_server::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .expect("serve");
        });
        TestServer {
            base_url,
            data_dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server and waits for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
