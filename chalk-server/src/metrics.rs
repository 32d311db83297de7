//! Prometheus metrics through the `metrics` facade and `metrics-exporter-prometheus`.
//!
//! Each application instance owns its recorder (not the process-global one) so that every
//! router a test builds has its own counts; the `/metrics` route renders that recorder.
//!
//! Every label comes from a closed set, never from what a client sent: the route template
//! axum matched (anything else is `unmatched`), one of the standard methods (anything else
//! is `OTHER`) and the status code. A client inventing methods or paths therefore adds no
//! series: the page stays bounded whatever arrives.
//!
//! A recorder built this way (rather than installed with the builder's own exporter) keeps
//! each histogram's new samples in a buffer until someone drains it: rendering does, and so
//! does [`Metrics::upkeep`]. `serve` runs `workers::upkeep` so that memory stays bounded on
//! an instance nobody scrapes.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use axum::http::Method;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

pub const REQUESTS_TOTAL: &str = "chalk_http_requests_total";
pub const REQUEST_DURATION: &str = "chalk_http_request_duration_seconds";
pub const WEBHOOK_DELIVERIES_TOTAL: &str = "chalk_webhook_deliveries_total";
pub const WEBHOOK_DELIVERY_DURATION: &str = "chalk_webhook_delivery_duration_seconds";
pub const WEBHOOK_QUEUE_DEPTH: &str = "chalk_webhook_queue_depth";
pub const BACKUP_LAST_SUCCESS: &str = "chalk_backup_last_success_timestamp_seconds";
pub const BACKUP_FAILURES_TOTAL: &str = "chalk_backup_failures_total";

/// Upper bounds of the webhook latency histogram, in seconds (up to the 15 s timeout).
const WEBHOOK_BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0];

/// The route label of a request that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";
/// The method label of a request whose method is not one of the standard ones.
pub const OTHER_METHOD: &str = "OTHER";

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// The request series seen so far, by (method, status) and route, each registered
    /// once: finding a series in the recorder by its name and labels builds the labels
    /// on every request (~1 µs of a cached GET's ~20). A closed set (see above).
    requests: RwLock<RequestSeries>,
}

type RequestSeries = HashMap<(&'static str, u16), HashMap<String, (Counter, Histogram)>>;

impl Default for Metrics {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), &BUCKETS)
            .expect("the bucket list is not empty")
            .set_buckets_for_metric(
                Matcher::Full(WEBHOOK_DELIVERY_DURATION.to_owned()),
                &WEBHOOK_BUCKETS,
            )
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Self {
            recorder,
            handle,
            requests: RwLock::default(),
        };
        metrics::with_local_recorder(&metrics.recorder, || {
            metrics::describe_counter!(REQUESTS_TOTAL, "HTTP requests served.");
            metrics::describe_histogram!(
                REQUEST_DURATION,
                metrics::Unit::Seconds,
                "Time to serve a request."
            );
        });
        metrics
    }
}

/// Runs, on a thread of its own, what the first recorder built in a process costs beyond
/// its own construction: `quanta` calibrating its clock against the system's, a busy loop
/// of at least half a millisecond and up to 200 ms on a loaded machine, once per process.
/// A starting server calls it first thing, so the calibration overlaps the store's opening
/// instead of following it (bench/README.md, start to healthy).
pub fn calibrate_clock_early() {
    std::thread::spawn(|| drop(PrometheusBuilder::new().build_recorder()));
}

/// The method as a label: a standard method by name, anything else `OTHER`.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => OTHER_METHOD,
    }
}

impl Metrics {
    /// Counts one request. `route` is the matched route template (a closed set: the
    /// router's own), `None` when nothing matched.
    pub fn observe(&self, method: &Method, route: Option<&str>, status: u16, elapsed: Duration) {
        let method = method_label(method);
        let route = route.unwrap_or(UNMATCHED_ROUTE);
        let seconds = elapsed.as_secs_f64();
        if let Some((count, duration)) = self
            .requests
            .read()
            .expect("metrics lock poisoned")
            .get(&(method, status))
            .and_then(|routes| routes.get(route))
        {
            count.increment(1);
            duration.record(seconds);
            return;
        }
        let (count, duration) = metrics::with_local_recorder(&self.recorder, || {
            (
                metrics::counter!(
                    REQUESTS_TOTAL,
                    "method" => method,
                    "route" => route.to_owned(),
                    "status" => status.to_string()
                ),
                metrics::histogram!(REQUEST_DURATION, "route" => route.to_owned()),
            )
        });
        count.increment(1);
        duration.record(seconds);
        self.requests
            .write()
            .expect("metrics lock poisoned")
            .entry((method, status))
            .or_default()
            .insert(route.to_owned(), (count, duration));
    }

    /// One webhook attempt and what it left: `succeeded`, `failed` (to be retried) or
    /// `exhausted` (a closed set).
    pub fn webhook_delivery(&self, outcome: &'static str, elapsed: Duration) {
        metrics::with_local_recorder(&self.recorder, || {
            metrics::counter!(WEBHOOK_DELIVERIES_TOTAL, "outcome" => outcome).increment(1);
            metrics::histogram!(WEBHOOK_DELIVERY_DURATION).record(elapsed.as_secs_f64());
        });
    }

    /// Deliveries waiting to be sent (all instances), as last counted.
    pub fn webhook_queue_depth(&self, depth: i64) {
        metrics::with_local_recorder(&self.recorder, || {
            metrics::gauge!(WEBHOOK_QUEUE_DEPTH).set(depth as f64);
        });
    }

    /// Scheduled backups are on: both backup series appear from now on (failures at 0), so
    /// an alert on them works before the first backup.
    pub fn backups_scheduled(&self) {
        metrics::with_local_recorder(&self.recorder, || {
            metrics::describe_gauge!(
                BACKUP_LAST_SUCCESS,
                metrics::Unit::Seconds,
                "Unix time of the last scheduled backup written."
            );
            metrics::describe_counter!(BACKUP_FAILURES_TOTAL, "Scheduled backups that failed.");
            metrics::counter!(BACKUP_FAILURES_TOTAL).increment(0);
        });
    }

    /// A scheduled backup was written at `at` (Unix seconds).
    pub fn backup_succeeded(&self, at: i64) {
        metrics::with_local_recorder(&self.recorder, || {
            metrics::gauge!(BACKUP_LAST_SUCCESS).set(at as f64);
        });
    }

    pub fn backup_failed(&self) {
        metrics::with_local_recorder(&self.recorder, || {
            metrics::counter!(BACKUP_FAILURES_TOTAL).increment(1);
        });
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds the histograms' buffered samples into their buckets, freeing the buffers.
    /// What [`render`](Self::render) shows is unchanged by it.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_histogram() {
        let m = Metrics::default();
        let route = Some("/api/v1/tenants/{id}");
        m.observe(&Method::GET, route, 200, Duration::from_millis(3));
        m.observe(&Method::GET, route, 200, Duration::from_millis(3));
        let text = m.render();
        assert!(
            text.contains(
                "chalk_http_requests_total{method=\"GET\",route=\"/api/v1/tenants/{id}\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("le=\"0.001\"} 0"), "{text}");
        assert!(
            text.contains("_count{route=\"/api/v1/tenants/{id}\"} 2"),
            "{text}"
        );
    }

    #[test]
    fn upkeep_keeps_what_render_shows() {
        let m = Metrics::default();
        let route = Some("/api/v1/tenants/{id}");
        m.observe(&Method::GET, route, 200, Duration::from_millis(3));
        m.upkeep();
        m.observe(&Method::GET, route, 200, Duration::from_millis(30));
        m.upkeep();
        m.upkeep();
        let text = m.render();
        assert!(
            text.contains(
                "chalk_http_requests_total{method=\"GET\",route=\"/api/v1/tenants/{id}\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("le=\"0.05\"} 2"), "{text}");
        assert!(
            text.contains("_count{route=\"/api/v1/tenants/{id}\"} 2"),
            "{text}"
        );
    }

    #[test]
    fn backup_series_appear_when_scheduled_and_count() {
        let m = Metrics::default();
        assert!(!m.render().contains(BACKUP_FAILURES_TOTAL));
        m.backups_scheduled();
        assert!(
            m.render().contains("chalk_backup_failures_total 0"),
            "{}",
            m.render()
        );
        m.backup_failed();
        m.backup_succeeded(1_700_000_000);
        let text = m.render();
        assert!(text.contains("chalk_backup_failures_total 1"), "{text}");
        assert!(
            text.contains("chalk_backup_last_success_timestamp_seconds 1700000000"),
            "{text}"
        );
    }

    #[test]
    fn invented_methods_share_one_label_and_instances_are_independent() {
        let a = Metrics::default();
        let b = Metrics::default();
        for i in 0..50 {
            let method =
                Method::from_bytes(format!("X{i}{}", "Y".repeat(1000)).as_bytes()).unwrap();
            a.observe(&method, None, 404, Duration::from_millis(1));
        }
        let text = a.render();
        assert!(
            text.contains(
                "chalk_http_requests_total{method=\"OTHER\",route=\"unmatched\",status=\"404\"} 50"
            ),
            "{text}"
        );
        assert!(!text.contains("YYYY"), "no raw method reaches a label");
        assert!(!b.render().contains("chalk_http_requests_total{"));
    }
}
