//! Prometheus metrics, kept per application instance (not in a global recorder) so that
//! each router built in a test has its own counts.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        {
            let mut requests = self.requests.lock().expect("metrics lock poisoned");
            *requests
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
        }
        let mut latency = self.latency.lock().expect("metrics lock poisoned");
        let histogram = latency.entry(route.to_owned()).or_default();
        histogram.count += 1;
        histogram.sum += seconds;
        for (slot, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *slot += 1;
            }
        }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP chalk_http_requests_total HTTP requests served.\n");
        out.push_str("# TYPE chalk_http_requests_total counter\n");
        for ((method, route, status), count) in
            self.requests.lock().expect("metrics lock poisoned").iter()
        {
            let _ = writeln!(
                out,
                "chalk_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }
        out.push_str("# HELP chalk_http_request_duration_seconds Time to serve a request.\n");
        out.push_str("# TYPE chalk_http_request_duration_seconds histogram\n");
        for (route, h) in self.latency.lock().expect("metrics lock poisoned").iter() {
            let route = escape(route);
            for (bound, count) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "chalk_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "chalk_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "chalk_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "chalk_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_histogram() {
        let m = Metrics::default();
        m.observe("GET", "/api/v1/tenants/{id}", 200, Duration::from_millis(3));
        m.observe("GET", "/api/v1/tenants/{id}", 200, Duration::from_millis(3));
        let text = m.render();
        assert!(text.contains(
            "chalk_http_requests_total{method=\"GET\",route=\"/api/v1/tenants/{id}\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.005\"} 2"));
        assert!(text.contains("le=\"0.001\"} 0"));
        assert!(text.contains("_count{route=\"/api/v1/tenants/{id}\"} 2"));
    }
}
