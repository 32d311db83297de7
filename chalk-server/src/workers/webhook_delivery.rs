//! The delivery worker: sends the deliveries `domain::events` wrote, in every instance.
//!
//! Each poll claims the due deliveries (see `store::deliveries`: `FOR UPDATE SKIP LOCKED`
//! on PostgreSQL, the single writer on SQLite) under a lease, sends each, records the
//! attempt and either settles it (`succeeded`, `exhausted`) or schedules the next attempt
//! (`failed`). A send:
//!
//! - resolves the URL's host itself and checks every address it resolved to against the
//!   SSRF rules (`webhook_target::check_address`), then connects to the checked address
//!   only (the HTTP client's resolver is pinned to it and proxies are off), so a name that
//!   resolves differently a moment later (DNS rebinding) cannot redirect the request;
//! - follows no redirect, and gives up after the timeout (15 s; `CHALK_WEBHOOK_TIMEOUT`);
//! - signs as Standard Webhooks do ([`chalk_sdk::webhooks::sign`]), once per secret that
//!   signs at that moment (both during a rotation's overlap).
//!
//! Stopping ([`Worker::stop`]) cancels the sends in flight and releases their claims, so
//! another instance (or the next start) sends them at once; a worker killed without
//! stopping leaves claims whose lease lapses, with the same effect a little later.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use chalk_sdk::model::DeliveryAttempt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use url::{Host, Url};

use crate::clock::{now, to_datetime};
use crate::domain::core::Core;
use crate::domain::webhook_schedule::{DeliveryConfig, next_delay};
use crate::net::webhook_target::{self, TargetPolicy};
use crate::store::deliveries::{self, DeliveryRow, Outcome};
use crate::store::{StoreResult, events, webhooks};

/// Sends in flight per instance.
const CONCURRENCY: usize = 16;
/// A claim outlives the send's timeout by this much before another worker may take it.
const LEASE_MARGIN_SECONDS: i64 = 30;
/// Response bodies are not read; an error message keeps at most this much of a cause.
const MAX_ERROR_CHARS: usize = 300;

/// The running worker of one instance.
pub struct Worker {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Cancels the sends in flight, releases their claims and returns when done.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the worker of this instance.
pub fn spawn(core: Core) -> Worker {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(core, stopped));
    Worker { stop, task }
}

async fn run(core: Core, mut stopped: watch::Receiver<bool>) {
    // Every claim of this process starts with its id, so stopping releases them all.
    let instance = format!("{}/", crate::crypto::random_base62(16));
    let config = core.policy.webhook_delivery.clone();
    let mut in_flight: JoinSet<()> = JoinSet::new();
    let mut ticks = tokio::time::interval(config.poll_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => continue,
            _ = ticks.tick() => {}
        }
        let room = CONCURRENCY.saturating_sub(in_flight.len());
        if room == 0 {
            continue;
        }
        let owner = format!("{instance}{}", crate::crypto::random_base62(8));
        let claimed = match claim(&core, &config, &owner, room).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim webhook deliveries; retrying at the next poll");
                continue;
            }
        };
        for delivery in claimed {
            let core = core.clone();
            let owner = owner.clone();
            let config = config.clone();
            in_flight.spawn(async move {
                if let Err(e) = deliver(&core, &config, &owner, delivery).await {
                    tracing::warn!(error = %e, "cannot record a webhook attempt; its claim lapses and it is sent again");
                }
            });
        }
        if let Ok(depth) = queue_depth(&core).await {
            core.metrics.webhook_queue_depth(depth);
        }
    }
    in_flight.shutdown().await;
    match release(&core, &instance).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deliveries = n, "released in-flight webhook deliveries"),
        Err(e) => tracing::warn!(error = %e, "cannot release webhook claims; their leases lapse"),
    }
}

async fn claim(
    core: &Core,
    config: &DeliveryConfig,
    owner: &str,
    limit: usize,
) -> StoreResult<Vec<DeliveryRow>> {
    let at = now();
    let lease = at + config.timeout.as_secs() as i64 + LEASE_MARGIN_SECONDS;
    let mut db = core.store.begin().await?;
    let claimed = deliveries::claim(
        &mut db,
        core.store.dialect(),
        owner,
        at,
        lease,
        limit as i64,
    )
    .await?;
    db.commit().await?;
    Ok(claimed)
}

async fn release(core: &Core, instance: &str) -> StoreResult<u64> {
    let mut db = core.store.begin().await?;
    let released = deliveries::release(&mut db, instance).await?;
    db.commit().await?;
    Ok(released)
}

async fn queue_depth(core: &Core) -> StoreResult<i64> {
    let mut db = core.store.read().await?;
    deliveries::queue_depth(&mut db).await
}

/// Where a delivery goes and with which secrets (opened, `whsec_…`).
struct Target {
    url: String,
    secrets: Vec<String>,
}

/// `None`: the endpoint is gone (its deliveries went with it).
async fn target(core: &Core, delivery: &DeliveryRow) -> Result<Option<Target>, String> {
    let (url, sealed) = match &delivery.endpoint_id {
        Some(endpoint_id) => {
            let mut db = core.store.read().await.map_err(|e| e.to_string())?;
            let Some(endpoint) = webhooks::get(&mut db, &delivery.tenant_id, endpoint_id)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(None);
            };
            let sealed: Vec<String> = endpoint
                .signing_secrets(now())
                .into_iter()
                .map(str::to_owned)
                .collect();
            (endpoint.url, sealed)
        }
        None => match (&delivery.url, &delivery.secret) {
            (Some(url), Some(secret)) => (url.clone(), vec![secret.clone()]),
            _ => return Err("a post-meeting delivery without its URL and secret".into()),
        },
    };
    let secrets = sealed
        .iter()
        .map(|s| core.sealer.open_str(s).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    Ok(Some(Target { url, secrets }))
}

async fn deliver(
    core: &Core,
    config: &DeliveryConfig,
    owner: &str,
    delivery: DeliveryRow,
) -> StoreResult<()> {
    let body = {
        let mut db = core.store.read().await?;
        match events::get(&mut db, &delivery.event_id).await? {
            Some(row) => crate::domain::events::view(&row)
                .ok()
                .and_then(|event| serde_json::to_vec(&event).ok()),
            None => return Ok(()),
        }
    };
    let started = Instant::now();
    let at = now();
    let result = match (body, target(core, &delivery).await) {
        (_, Ok(None)) => return Ok(()),
        (None, _) => Err(Failure::error("the event cannot be read")),
        (_, Err(e)) => Err(Failure::error(e)),
        (Some(body), Ok(Some(target))) => {
            send(
                &target,
                &delivery.event_id,
                &body,
                core.policy.webhook_targets,
                config.timeout,
            )
            .await
        }
    };
    let elapsed = started.elapsed();
    let mut attempts: Vec<DeliveryAttempt> =
        serde_json::from_str(&delivery.attempts).unwrap_or_default();
    let (status_code, error, retry_after, ok) = match &result {
        Ok(code) => (Some(*code), None, None, true),
        Err(f) => (f.status_code, f.error.clone(), f.retry_after, false),
    };
    attempts.push(DeliveryAttempt {
        at: to_datetime(at),
        status_code,
        error,
        duration_ms: elapsed.as_millis() as u64,
    });
    let attempt_count = delivery.attempt_count + 1;
    let (status, next_attempt_at) = if ok {
        (deliveries::SUCCEEDED, None)
    } else {
        match next_delay(&config.schedule, attempt_count as usize, retry_after) {
            Some(delay) => (
                deliveries::FAILED,
                Some(now() + delay.as_secs_f64().ceil() as i64),
            ),
            None => (deliveries::EXHAUSTED, None),
        }
    };
    let attempts = serde_json::to_string(&attempts)
        .map_err(|e| crate::store::StoreError::Internal(e.to_string()))?;
    let mut db = core.store.begin().await?;
    let recorded = deliveries::finish(
        &mut db,
        &delivery.id,
        owner,
        &Outcome {
            status,
            attempt_count,
            attempts: &attempts,
            next_attempt_at,
            now: now(),
        },
    )
    .await?;
    db.commit().await?;
    if recorded {
        core.metrics.webhook_delivery(status, elapsed);
        // Counted once the attempt is recorded: a send whose claim was lost is another
        // instance's to count.
        core.usage.webhook_attempt(&delivery.tenant_id, at, !ok);
    }
    tracing::debug!(delivery = %delivery.id, event = %delivery.event_id, status, ?status_code, "webhook attempt");
    Ok(())
}

/// Why an attempt failed.
struct Failure {
    status_code: Option<u16>,
    error: Option<String>,
    retry_after: Option<Duration>,
}

impl Failure {
    fn error(message: impl Into<String>) -> Self {
        let mut message: String = message.into();
        if message.chars().count() > MAX_ERROR_CHARS {
            message = message.chars().take(MAX_ERROR_CHARS).collect();
        }
        Self {
            status_code: None,
            error: Some(message),
            retry_after: None,
        }
    }
}

/// The address to connect to: every address the host resolves to must pass the SSRF
/// rules (a name that also resolves to a private address is refused), and the first is
/// used.
async fn checked_address(url: &Url, policy: TargetPolicy) -> Result<SocketAddr, Failure> {
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Failure::error("the URL has no port"))?;
    let addresses: Vec<IpAddr> = match url.host() {
        Some(Host::Ipv4(ip)) => vec![ip.into()],
        Some(Host::Ipv6(ip)) => vec![ip.into()],
        Some(Host::Domain(domain)) => tokio::net::lookup_host((domain, port))
            .await
            .map_err(|e| Failure::error(format!("cannot resolve {domain}: {e}")))?
            .map(|a| a.ip())
            .collect(),
        None => return Err(Failure::error("the URL has no host")),
    };
    let Some(first) = addresses.first().copied() else {
        return Err(Failure::error("the host resolved to no address"));
    };
    for address in &addresses {
        webhook_target::check_address(url, *address, policy)
            // The address itself stays out of the log a tenant reads: it would tell them
            // how the server's network resolves names.
            .map_err(|rule| Failure::error(format!("refused target: the host {rule}")))?;
    }
    Ok(SocketAddr::new(first, port))
}

/// One signed POST. `Ok(status)` for a 2xx.
async fn send(
    target: &Target,
    event_id: &str,
    body: &[u8],
    policy: TargetPolicy,
    timeout: Duration,
) -> Result<u16, Failure> {
    let url = Url::parse(&target.url).map_err(|e| Failure::error(format!("bad URL: {e}")))?;
    let attempt = async {
        let address = checked_address(&url, policy).await?;
        let mut client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .user_agent(concat!("Chalk-Webhooks/", env!("CARGO_PKG_VERSION")));
        if let Some(Host::Domain(domain)) = url.host() {
            // Connect to the address just checked, never to a fresh lookup's answer.
            client = client.resolve(domain, address);
        }
        let client = client
            .build()
            .map_err(|e| Failure::error(format!("HTTP client: {e}")))?;
        let timestamp = now();
        let signatures = target
            .secrets
            .iter()
            .map(|secret| chalk_sdk::webhooks::sign(secret, event_id, timestamp, body))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Failure::error(format!("secret: {e}")))?
            .join(" ");
        let response = client
            .post(url.clone())
            .header(chalk_sdk::webhooks::HEADER_ID, event_id)
            .header(chalk_sdk::webhooks::HEADER_TIMESTAMP, timestamp.to_string())
            .header(chalk_sdk::webhooks::HEADER_SIGNATURE, signatures)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    Failure::error(format!("timed out after {}s", timeout.as_secs_f64()))
                } else {
                    Failure::error(format!("request failed: {}", error_chain(&e)))
                }
            })?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Ok(status);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Err(Failure {
            status_code: Some(status),
            error: None,
            retry_after,
        })
    };
    // The resolution counts against the timeout too.
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(Failure::error(format!(
                "timed out after {}s",
                timeout.as_secs_f64()
            )))
        })
}

/// An error and its causes, for the attempt log ("connection refused" is in a source).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
