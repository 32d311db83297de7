//! Webhook delivery end to end: real `chalk-server` processes sending to a real receiver
//! on 127.0.0.1 (so `CHALK_WEBHOOK_ALLOW_PRIVATE=true`), with a seconds-long retry
//! schedule. Retries with one event id, signatures checked by the SDK and by an
//! independent implementation of the spec, timeouts, secret rotation, a private target
//! refused, kill -9 between commit and delivery, and two instances on PostgreSQL
//! delivering each event once (when `CHALK_TEST_POSTGRES_URL` is set).

mod support;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use support::postgres::TestSchema;
use support::server::{Instance, MASTER_KEY, call};

const MK: (&str, &str) = ("X-Master-Key", MASTER_KEY);

/// What the receiver does with the next request.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Status(u16),
    /// Answers 200 only after this long (longer than the server waits).
    Hang(Duration),
}

#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: Bytes,
}

#[derive(Default)]
struct Script {
    answers: VecDeque<Answer>,
    received: Vec<Received>,
}

/// An HTTP receiver on 127.0.0.1 that answers as scripted (then 200) and keeps every
/// request.
struct Receiver {
    url: String,
    script: Arc<Mutex<Script>>,
}

async fn receive(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let answer = {
        let mut script = script.lock().unwrap();
        script.received.push(Received {
            headers: headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
            body,
        });
        script.answers.pop_front().unwrap_or(Answer::Status(200))
    };
    match answer {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap(),
        Answer::Hang(duration) => {
            tokio::time::sleep(duration).await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    async fn start(answers: &[Answer]) -> Receiver {
        let script = Arc::new(Mutex::new(Script {
            answers: answers.iter().copied().collect(),
            received: Vec::new(),
        }));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url: format!("http://{address}/hook"),
            script,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }

    /// Waits (up to `within`) until `n` requests arrived.
    async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} requests arrived",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The spec, implemented here apart from the SDK: HMAC-SHA256 keyed with the base64-decoded
/// part after `whsec_`, over `{id}.{timestamp}.{body}`, base64, prefixed `v1,`; any of the
/// space-separated signatures may match.
fn independently_verified(secret: &str, received: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let id = &received.headers["webhook-id"];
    let timestamp = &received.headers["webhook-timestamp"];
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(&received.body);
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(&signed);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    received.headers["webhook-signature"]
        .split(' ')
        .any(|s| s == expected)
}

fn sdk_verified(
    secrets: &[&str],
    received: &Received,
) -> Result<chalk_sdk::webhooks::Event, chalk_sdk::webhooks::WebhookError> {
    let headers: Vec<(String, String)> = received
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    chalk_sdk::webhooks::verify(secrets, &headers[..], &received.body)
}

const DEV: [(&str, &str); 2] = [
    ("CHALK_WEBHOOK_ALLOW_PRIVATE", "true"),
    ("CHALK_WEBHOOK_RETRY_SCHEDULE", "1s,1s,1s"),
];

fn env<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = DEV.to_vec();
    env.extend_from_slice(extra);
    env
}

/// A tenant and its primary key.
async fn tenant(client: &reqwest::Client, base: &str) -> (String, String) {
    let (status, created) = call(
        client,
        Method::POST,
        format!("{base}/tenants"),
        &[MK],
        Some(json!({"name": "Acme"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    (
        created["data"]["id"].as_str().unwrap().to_owned(),
        created["data"]["api_key"].as_str().unwrap().to_owned(),
    )
}

/// An endpoint for `events`; returns (id, secret).
async fn endpoint(
    client: &reqwest::Client,
    base: &str,
    tenant: &str,
    url: &str,
    events: Value,
) -> (String, String) {
    let (status, created) = call(
        client,
        Method::POST,
        format!("{base}/tenants/{tenant}/webhook-endpoints"),
        &[MK],
        Some(json!({"url": url, "events": events})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    (
        created["data"]["id"].as_str().unwrap().to_owned(),
        created["data"]["secret"].as_str().unwrap().to_owned(),
    )
}

async fn create_room(client: &reqwest::Client, base: &str, key: &str, id: &str) {
    let (status, body) = call(
        client,
        Method::POST,
        format!("{base}/rooms"),
        &[("X-API-Key", key)],
        Some(json!({ "id": id })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

async fn deliveries(client: &reqwest::Client, base: &str, tenant: &str) -> Vec<Value> {
    let (status, body) = call(
        client,
        Method::GET,
        format!("{base}/tenants/{tenant}/webhook-deliveries?limit=200"),
        &[MK],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["data"].as_array().unwrap().clone()
}

/// Waits until every delivery of the tenant is settled with `status`.
async fn wait_settled(
    client: &reqwest::Client,
    base: &str,
    tenant: &str,
    status: &str,
    within: Duration,
) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let all = deliveries(client, base, tenant).await;
        if !all.is_empty() && all.iter().all(|d| d["status"] == status) {
            return all;
        }
        assert!(Instant::now() < deadline, "not all {status}: {all:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn failures_are_retried_with_one_event_id_until_the_receiver_takes_it() {
    let receiver = Receiver::start(&[Answer::Status(500), Answer::Status(500)]).await;
    let server = Instance::start(&env(&[]));
    let client = reqwest::Client::new();
    let (tenant, key) = tenant(&client, &server.base).await;
    let (endpoint_id, secret) = endpoint(
        &client,
        &server.base,
        &tenant,
        &receiver.url,
        json!(["room.created"]),
    )
    .await;
    create_room(&client, &server.base, &key, "cs101").await;

    let received = receiver.wait_for(3, Duration::from_secs(20)).await;
    let settled = wait_settled(
        &client,
        &server.base,
        &tenant,
        "succeeded",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(receiver.received().len(), 3, "nothing after the success");
    let ids: HashSet<&str> = received
        .iter()
        .map(|r| r.headers["webhook-id"].as_str())
        .collect();
    assert_eq!(ids.len(), 1, "one event id on every attempt");
    assert!(
        received.iter().all(|r| r.body == received[0].body),
        "the same body"
    );
    let last = &received[2];
    assert!(independently_verified(&secret, last));
    let event = sdk_verified(&[&secret], last).expect("the SDK verifies it");
    let chalk_sdk::webhooks::Event::RoomCreated(room) = event else {
        panic!("a room.created event: {event:?}");
    };
    assert_eq!(room.data.id, "room_cs101");
    assert_eq!(room.id, last.headers["webhook-id"]);
    assert_eq!(last.headers["content-type"], "application/json");
    assert!(last.headers["user-agent"].starts_with("Chalk-Webhooks/"));

    assert_eq!(settled.len(), 1);
    let delivery = &settled[0];
    assert_eq!(delivery["endpoint_id"], endpoint_id.as_str());
    assert_eq!(delivery["event_id"], room.id.as_str());
    let codes: Vec<&Value> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status_code"])
        .collect();
    assert_eq!(codes, [&json!(500), &json!(500), &json!(200)]);
    assert_eq!(delivery["next_attempt_at"], Value::Null);

    // The metrics count them.
    let metrics = client
        .get(server.base.replace("/api/v1", "/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"chalk_webhook_deliveries_total{outcome="failed"} 2"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"chalk_webhook_deliveries_total{outcome="succeeded"} 1"#));
    assert!(metrics.contains("chalk_webhook_delivery_duration_seconds_count 3"));
    assert!(metrics.contains("chalk_webhook_queue_depth"));

    // Usage metering counts every attempt and every failure, flushed within 10 s.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, usage) = call(
            &client,
            Method::GET,
            format!("{}/tenants/{tenant}/usage", server.base),
            &[MK],
            None,
        )
        .await;
        assert_eq!(status, 200, "{usage}");
        let totals = &usage["totals"];
        if totals["webhook_deliveries"] == 3 {
            assert_eq!(totals["webhook_failures"], 2, "{totals}");
            assert_eq!(totals["rooms_created"], 1, "{totals}");
            break;
        }
        assert!(Instant::now() < deadline, "usage not flushed: {totals}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn exhausted_deliveries_are_sent_again_by_hand_with_the_same_id() {
    let receiver = Receiver::start(&[Answer::Status(503), Answer::Status(500)]).await;
    let server = Instance::start(&[
        ("CHALK_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("CHALK_WEBHOOK_RETRY_SCHEDULE", "1s"),
    ]);
    let client = reqwest::Client::new();
    let (tenant, _) = tenant(&client, &server.base).await;
    let (endpoint_id, _) =
        endpoint(&client, &server.base, &tenant, &receiver.url, json!(["*"])).await;
    let (status, test) = call(
        &client,
        Method::POST,
        format!(
            "{}/tenants/{tenant}/webhook-endpoints/{endpoint_id}/test",
            server.base
        ),
        &[MK],
        None,
    )
    .await;
    assert_eq!(status, 202, "{test}");
    let exhausted = wait_settled(
        &client,
        &server.base,
        &tenant,
        "exhausted",
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(exhausted[0]["attempts"].as_array().unwrap().len(), 2);
    let delivery_id = test["data"]["delivery_id"].as_str().unwrap();
    let (status, retried) = call(
        &client,
        Method::POST,
        format!(
            "{}/tenants/{tenant}/webhook-deliveries/{delivery_id}/retry",
            server.base
        ),
        &[MK],
        None,
    )
    .await;
    assert_eq!(status, 202, "{retried}");
    assert_eq!(retried["data"]["status"], "pending");
    let done = wait_settled(
        &client,
        &server.base,
        &tenant,
        "succeeded",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(done[0]["attempts"].as_array().unwrap().len(), 3);
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    assert!(
        received
            .iter()
            .all(|r| r.headers["webhook-id"] == test["data"]["event_id"].as_str().unwrap())
    );
}

#[tokio::test]
async fn a_hanging_receiver_times_out_and_the_delivery_is_retried() {
    let receiver = Receiver::start(&[Answer::Hang(Duration::from_secs(10))]).await;
    let server = Instance::start(&env(&[("CHALK_WEBHOOK_TIMEOUT", "1s")]));
    let client = reqwest::Client::new();
    let (tenant, key) = tenant(&client, &server.base).await;
    endpoint(
        &client,
        &server.base,
        &tenant,
        &receiver.url,
        json!(["room.created"]),
    )
    .await;
    create_room(&client, &server.base, &key, "cs101").await;
    let settled = wait_settled(
        &client,
        &server.base,
        &tenant,
        "succeeded",
        Duration::from_secs(20),
    )
    .await;
    let attempts = settled[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(
        attempts[0]["error"].as_str().unwrap().contains("timed out"),
        "{attempts:?}"
    );
    assert!(attempts[0].get("status_code").is_none());
    assert_eq!(attempts[1]["status_code"], 200);
    let received = receiver.received();
    assert_eq!(
        received[0].headers["webhook-id"],
        received[1].headers["webhook-id"]
    );
}

#[tokio::test]
async fn during_a_rotation_deliveries_are_signed_with_both_secrets() {
    let receiver = Receiver::start(&[]).await;
    let server = Instance::start(&env(&[]));
    let client = reqwest::Client::new();
    let (tenant, _) = tenant(&client, &server.base).await;
    let (endpoint_id, old) =
        endpoint(&client, &server.base, &tenant, &receiver.url, json!(["*"])).await;
    let (status, rotated) = call(
        &client,
        Method::POST,
        format!(
            "{}/tenants/{tenant}/webhook-endpoints/{endpoint_id}/rotate-secret",
            server.base
        ),
        &[MK],
        Some(json!({"expire_previous_in_seconds": 3600})),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["data"]["secret"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &client,
        Method::POST,
        format!(
            "{}/tenants/{tenant}/webhook-endpoints/{endpoint_id}/test",
            server.base
        ),
        &[MK],
        None,
    )
    .await;
    assert_eq!(status, 202);
    let received = receiver.wait_for(1, Duration::from_secs(10)).await;
    let signatures: Vec<&str> = received[0].headers["webhook-signature"]
        .split(' ')
        .collect();
    assert_eq!(signatures.len(), 2, "{signatures:?}");
    for secret in [&old, &new] {
        assert!(independently_verified(secret, &received[0]));
        assert!(sdk_verified(&[secret.as_str()], &received[0]).is_ok());
    }
    assert!(
        sdk_verified(
            &["whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="],
            &received[0]
        )
        .is_err()
    );
}

#[tokio::test]
async fn a_private_target_is_refused_at_delivery_without_the_setting() {
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chalk.db").display());
    let client = reqwest::Client::new();
    // Configured while the operator allowed private targets...
    let server = Instance::start(&env(&[
        ("CHALK_DATABASE_URL", &url),
        ("CHALK_WEBHOOK_POLL_INTERVAL", "1h"),
    ]));
    let (tenant, key) = tenant(&client, &server.base).await;
    endpoint(
        &client,
        &server.base,
        &tenant,
        &receiver.url,
        json!(["room.created"]),
    )
    .await;
    create_room(&client, &server.base, &key, "cs101").await;
    drop(server);
    // ...and sent after they stopped allowing them.
    let server = Instance::start(&[
        ("CHALK_DATABASE_URL", &url),
        ("CHALK_WEBHOOK_RETRY_SCHEDULE", "1s"),
    ]);
    let settled = wait_settled(
        &client,
        &server.base,
        &tenant,
        "exhausted",
        Duration::from_secs(15),
    )
    .await;
    for attempt in settled[0]["attempts"].as_array().unwrap() {
        assert!(
            attempt["error"]
                .as_str()
                .unwrap()
                .contains("refused target"),
            "{attempt}"
        );
    }
    assert!(
        receiver.received().is_empty(),
        "no request reached the private target"
    );
}

#[tokio::test]
async fn kill_9_between_commit_and_delivery_loses_nothing() {
    let receiver = Receiver::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chalk.db").display());
    let client = reqwest::Client::new();
    // This worker polls once at start and then not for an hour: the delivery stays
    // committed and unsent when the process dies.
    let server = Instance::start(&env(&[
        ("CHALK_DATABASE_URL", &url),
        ("CHALK_WEBHOOK_POLL_INTERVAL", "1h"),
    ]));
    let (tenant, key) = tenant(&client, &server.base).await;
    endpoint(
        &client,
        &server.base,
        &tenant,
        &receiver.url,
        json!(["room.created"]),
    )
    .await;
    create_room(&client, &server.base, &key, "cs101").await;
    let pending = deliveries(&client, &server.base, &tenant).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["status"], "pending");
    drop(server); // SIGKILL
    assert!(receiver.received().is_empty());
    let server = Instance::start(&env(&[("CHALK_DATABASE_URL", &url)]));
    let received = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(
        received[0].headers["webhook-id"],
        pending[0]["event_id"].as_str().unwrap()
    );
    wait_settled(
        &client,
        &server.base,
        &tenant,
        "succeeded",
        Duration::from_secs(10),
    )
    .await;
}

#[tokio::test]
async fn a_graceful_shutdown_releases_the_delivery_in_flight() {
    // The first request hangs past the shutdown; the claim's lease (timeout + 30 s) would
    // hold the delivery for 45 s if the stopping server did not release it.
    let receiver = Receiver::start(&[Answer::Hang(Duration::from_secs(30))]).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chalk.db").display());
    let client = reqwest::Client::new();
    let mut server = Instance::start(&env(&[("CHALK_DATABASE_URL", &url)]));
    let (tenant, key) = tenant(&client, &server.base).await;
    endpoint(
        &client,
        &server.base,
        &tenant,
        &receiver.url,
        json!(["room.created"]),
    )
    .await;
    create_room(&client, &server.base, &key, "cs101").await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    assert!(server.terminate().success(), "a clean exit");
    let server = Instance::start(&env(&[("CHALK_DATABASE_URL", &url)]));
    let received = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(
        received[0].headers["webhook-id"],
        received[1].headers["webhook-id"]
    );
    let settled = wait_settled(
        &client,
        &server.base,
        &tenant,
        "succeeded",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        settled[0]["attempts"].as_array().unwrap().len(),
        1,
        "the cancelled send is not an attempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_deliver_each_event_once() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let receiver = Receiver::start(&[]).await;
    let env = env(&[("CHALK_DATABASE_URL", schema.url.as_str())]);
    let (a, b) = (Instance::spawn(&env), Instance::spawn(&env));
    let (a, b) = (a.ready(), b.ready());
    let client = reqwest::Client::new();
    let (tenant, key) = tenant(&client, &a.base).await;
    endpoint(
        &client,
        &a.base,
        &tenant,
        &receiver.url,
        json!(["room.created"]),
    )
    .await;
    const ROOMS: usize = 40;
    for n in 0..ROOMS {
        let base = if n % 2 == 0 { &a.base } else { &b.base };
        create_room(&client, base, &key, &format!("room{n}")).await;
    }
    wait_settled(
        &client,
        &b.base,
        &tenant,
        "succeeded",
        Duration::from_secs(30),
    )
    .await;
    // A moment more, for any second sending to show.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = receiver.received();
    let ids: HashSet<&str> = received
        .iter()
        .map(|r| r.headers["webhook-id"].as_str())
        .collect();
    assert_eq!(ids.len(), ROOMS, "every event delivered");
    assert_eq!(received.len(), ROOMS, "and each once");
    for delivery in deliveries(&client, &a.base, &tenant).await {
        assert_eq!(delivery["attempts"].as_array().unwrap().len(), 1);
    }
}
