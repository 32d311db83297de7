//! Load benchmark: `cargo bench --bench load` (or `bench/run` for a longer run).
//!
//! Measures `chalk-server` against a reference measured in the same run on the same
//! machine: a bare axum handler that returns a fixed JSON body, the ceiling an API
//! endpoint can approach. Each server runs in its own child process (this binary,
//! re-executed in a serve mode) so that its start-up time and peak RSS can be read.
//! The load is 32 concurrent keep-alive clients for a fixed duration per endpoint.
//!
//! Prints one table: throughput, p50/p99 latency, each as a ratio to the reference,
//! peak RSS and time to ready. These are not tests: CI does not run them.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 32;
const MASTER_KEY: &str = "bench-master-key-0123456789abcdefghijklm";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; the serve modes are ours.
    if let Some(mode) = args
        .iter()
        .position(|a| a == "--serve")
        .map(|i| args[i + 1].clone())
    {
        serve(&mode);
        return;
    }
    let seconds: u64 = std::env::var("CHALK_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(run(Duration::from_secs(seconds)));
}

/// Child-process mode: serve until killed, printing the bound address on stdout.
fn serve(mode: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        match mode {
            "reference" => {
                let body = r#"{"data":{"id":"tenant_reference","name":"Reference"}}"#;
                let app = axum::Router::new().route(
                    "/api/v1/tenants/{id}",
                    axum::routing::get(move || async move {
                        (
                            [(axum::http::header::CONTENT_TYPE, "application/json")],
                            body,
                        )
                    }),
                );
                axum::serve(listener, app).await.unwrap();
            }
            "chalk" => {
                let dir = tempfile::tempdir().unwrap();
                let settings = <chalk_server::settings::Settings as clap::Parser>::parse_from([
                    "chalk-server",
                    "--data-dir",
                    dir.path().to_str().unwrap(),
                    "--master-key",
                    MASTER_KEY,
                    "--log",
                    "warn",
                    "--default-rate-limit",
                    "1000000",
                ]);
                let (state, _) = chalk_server::startup::build_state(&settings).await.unwrap();
                chalk_server::serve(listener, state, std::future::pending())
                    .await
                    .unwrap();
            }
            other => panic!("unknown serve mode {other}"),
        }
    });
}

struct ServerProcess {
    child: Child,
    base: String,
    ready_after: Duration,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    }
}

async fn spawn(mode: &str, ready_path: &str) -> ServerProcess {
    use std::io::BufRead;
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--serve", mode])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = format!("http://{}", line.trim());
    let client = reqwest::Client::new();
    loop {
        if client
            .get(format!("{base}{ready_path}"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    ServerProcess {
        child,
        base,
        ready_after: started.elapsed(),
    }
}

struct Sample {
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    mean_ms: f64,
    errors: usize,
}

async fn load(url: String, headers: Vec<(&'static str, String)>, duration: Duration) -> Sample {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let headers = Arc::new(headers);
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, url, headers) = (client.clone(), url.clone(), headers.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let started = Instant::now();
                let mut request = client.get(&url);
                for (name, value) in headers.iter() {
                    request = request.header(*name, value);
                }
                match request.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(started.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (latencies, e) = task.await.unwrap();
        all.extend(latencies);
        errors += e;
    }
    all.sort();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(f64::NAN)
    };
    let mean_ms =
        all.iter().map(|d| d.as_secs_f64()).sum::<f64>() * 1000.0 / all.len().max(1) as f64;
    Sample {
        requests_per_second: all.len() as f64 / duration.as_secs_f64(),
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
        mean_ms,
        errors,
    }
}

async fn run(duration: Duration) {
    let reference = spawn("reference", "/api/v1/tenants/x").await;
    let chalk = spawn("chalk", "/healthz").await;

    // A tenant to read, through the public API.
    let client = reqwest::Client::new();
    let created: serde_json::Value = client
        .post(format!("{}/api/v1/tenants", chalk.base))
        .header("X-Master-Key", MASTER_KEY)
        .json(&serde_json::json!({"name": "Bench University"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let key = created["data"]["api_key"].as_str().unwrap().to_owned();
    let token: serde_json::Value = client
        .post(format!("{}/api/v1/auth/token", chalk.base))
        .json(&serde_json::json!({"api_key": key}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = format!("Bearer {}", token["data"]["access_token"].as_str().unwrap());

    let reference_sample = load(
        format!("{}/api/v1/tenants/x", reference.base),
        vec![],
        duration,
    )
    .await;
    let cases = [
        (
            "GET /tenants/{id} (API key)",
            vec![("X-API-Key", key.clone())],
        ),
        (
            "GET /tenants/{id} (Bearer)",
            vec![("Authorization", bearer.clone())],
        ),
        (
            "GET /tenants/{id} (master)",
            vec![("X-Master-Key", MASTER_KEY.to_owned())],
        ),
    ];
    println!(
        "\n{CONCURRENCY} concurrent clients, {} s per row, same machine, same run\n",
        duration.as_secs()
    );
    println!("| endpoint | req/s | × ref | p50 ms | × ref | p99 ms | × ref | mean ms | errors |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let row = |name: &str, s: &Sample| {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            s.requests_per_second,
            s.requests_per_second / reference_sample.requests_per_second,
            s.p50_ms,
            s.p50_ms / reference_sample.p50_ms,
            s.p99_ms,
            s.p99_ms / reference_sample.p99_ms,
            s.mean_ms,
            s.errors
        );
    };
    row("reference: bare axum handler", &reference_sample);
    for (name, headers) in cases {
        let sample = load(
            format!("{}/api/v1/tenants/{id}", chalk.base),
            headers,
            duration,
        )
        .await;
        row(name, &sample);
    }
    println!(
        "\npeak RSS: chalk-server {:.1} MiB, reference {:.1} MiB; ready after start: chalk-server {} ms, reference {} ms",
        chalk.peak_rss_mib(),
        reference.peak_rss_mib(),
        chalk.ready_after.as_millis(),
        reference.ready_after.as_millis()
    );
    println!(
        "Go control plane (its authors' numbers, Postgres, 32 clients): GET /v1/tenants/{{id}} 42 ms mean, 163 ms p99, ~1,400 req/s, 47 MiB RSS, 82 ms start."
    );
}
