//! docs/api.md Operations: health, readiness, metrics and the served OpenAPI document.

use crate::common::*;

#[tokio::test]
async fn healthz_and_readyz_answer_without_credentials() {
    let app = test_app().await;
    let health = app.get("/healthz").send().await;
    health.assert_status(200);
    assert_eq!(health.body, serde_json::json!({"status": "ok"}));
    let ready = app.get("/readyz").send().await;
    ready.assert_status(200);
    assert_eq!(ready.body, serde_json::json!({"status": "ready"}));
}

#[tokio::test]
async fn readyz_turns_503_when_shutdown_begins() {
    let app = test_app().await;
    app.state.begin_shutdown();
    let response = app.get("/readyz").send().await;
    response.assert_error(503, "UNAVAILABLE");
    assert!(!response.text.contains("shutting down"), "no internals");
    app.get("/healthz").send().await.assert_status(200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = test_app().await;
    app.get("/healthz").send().await;
    app.get("/api/v1/tenants").send().await;
    let response = app.get("/metrics").send().await;
    response.assert_status(200);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = &response.text;
    assert!(text.contains("# TYPE"), "{text}");
    assert!(text.contains("/healthz"), "{text}");
    assert!(
        text.contains("/api/v1/tenants") && text.contains("401"),
        "{text}"
    );
}

#[tokio::test]
async fn the_openapi_document_is_served_as_json() {
    let app = test_app().await;
    let response = app.get("/api/v1/openapi.json").send().await;
    response.assert_status(200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert!(
        response.body["openapi"]
            .as_str()
            .unwrap()
            .starts_with("3.1")
    );
    assert_eq!(
        response.body,
        serde_json::to_value(chalk_server::http::openapi::document()).unwrap()
    );
}

/// Issue #11 item 1: invented methods and paths must not add series (each used to add a
/// line holding the raw method, never freed).
#[tokio::test]
async fn metrics_stay_bounded_whatever_methods_and_paths_arrive() {
    use rand::Rng;
    let app = test_app().await;
    app.get("/healthz").send().await.assert_status(200);
    let before = app.get("/metrics").send().await.text;
    let mut rng = rand::rng();
    for i in 0..200 {
        let method: String = (0..5_000)
            .map(|_| char::from(rng.random_range(b'A'..=b'Z')))
            .collect();
        let method = axum::http::Method::from_bytes(method.as_bytes()).unwrap();
        let path = format!("/no-such-{i}-{}", rng.random::<u64>());
        app.call(method.clone(), &path)
            .send()
            .await
            .assert_error(404, "NOT_FOUND");
        app.call(method, "/healthz")
            .send()
            .await
            .assert_error(405, "METHOD_NOT_ALLOWED");
    }
    let after = app.get("/metrics").send().await;
    after.assert_status(200);
    let text = &after.text;
    assert!(
        text.contains(
            "chalk_http_requests_total{method=\"OTHER\",route=\"unmatched\",status=\"404\"} 200"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "chalk_http_requests_total{method=\"OTHER\",route=\"/healthz\",status=\"405\"} 200"
        ),
        "{text}"
    );
    assert!(!text.contains("no-such"), "raw paths never become labels");
    // Two new series (and their histogram lines), not 400: the page grows by a few lines.
    assert!(
        text.len() < before.len() + 4_000,
        "metrics grew from {} to {} bytes",
        before.len(),
        text.len()
    );
}
