//! API.md Operations: health, readiness, metrics and the served OpenAPI document.

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
        serde_json::to_value(chalk_server::openapi::document()).unwrap()
    );
}
