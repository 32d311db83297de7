//! The cross-instance revocation delay of `bench/run`: two chalk-server instances on one
//! PostgreSQL database. A key is served (and cached) by A, revoked through B; the delay is
//! from B's answer to the first refusal by A, polled back to back. Prints
//! `p50_ms p99_ms max_ms samples`. A latency probe, not a load generator.
//!
//! `cargo run --release --example bench_revocation -- http://A http://B MASTER_KEY [ROUNDS]`

use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (a, b, master) = (&args[1], &args[2], &args[3]);
    let rounds: usize = args.get(4).and_then(|r| r.parse().ok()).unwrap_or(200);
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{b}/api/v1/tenants"))
        .header("X-Master-Key", master)
        .json(&json!({"name": "Revocation probe", "rate_limit_per_minute": 1_000_000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant = created["data"]["id"].as_str().unwrap().to_owned();
    let mut delays = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let key: Value = client
            .post(format!("{b}/api/v1/tenants/{tenant}/api-keys"))
            .header("X-Master-Key", master)
            .json(&json!({"name": format!("probe {round}"), "scopes": ["tenant:read"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = key["data"]["api_key"].as_str().unwrap().to_owned();
        let key_id = key["data"]["key_id"].as_str().unwrap().to_owned();
        let read = || {
            client
                .get(format!("{a}/api/v1/tenant"))
                .header("X-API-Key", &secret)
                .send()
        };
        for _ in 0..3 {
            assert_eq!(read().await.unwrap().status(), 200, "A serves the new key");
        }
        let revoked = client
            .delete(format!("{b}/api/v1/tenants/{tenant}/api-keys/{key_id}"))
            .header("X-Master-Key", master)
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 200);
        let at = Instant::now();
        loop {
            let status = read().await.unwrap().status();
            if status == 401 {
                break;
            }
            assert!(at.elapsed() < Duration::from_secs(10), "A never refused it");
        }
        delays.push(at.elapsed());
    }
    delays.sort();
    let pick = |q: f64| delays[((delays.len() as f64 - 1.0) * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{:.2} {:.2} {:.2} {}",
        ms(pick(0.5)),
        ms(pick(0.99)),
        ms(*delays.last().unwrap()),
        delays.len()
    );
}
