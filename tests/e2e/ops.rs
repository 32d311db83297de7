//! The operations endpoints of a real server through `client.ops()`.

use crate::common::TestServer;
use crate::support::anonymous;

#[tokio::test]
async fn probes_metrics_and_the_openapi_document() {
    let server = TestServer::start().await;
    let client = anonymous(&server);
    assert_eq!(client.ops().health().await.unwrap().status, "ok");
    assert_eq!(client.ops().ready().await.unwrap().status, "ready");
    let document = client.ops().openapi().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    // Every operation the SDK wraps is in the document it was built against.
    for path in [
        "/api/v1/tenants",
        "/api/v1/tenants/{id}",
        "/api/v1/tenant",
        "/api/v1/tenants/{id}/rotate-key",
        "/api/v1/tenants/{id}/suspend",
        "/api/v1/tenants/{id}/resume",
        "/api/v1/tenants/{id}/config",
        "/api/v1/tenants/{id}/api-keys",
        "/api/v1/tenants/{id}/api-keys/{key_id}",
        "/api/v1/auth/token",
        "/api/v1/auth/refresh",
        "/api/v1/auth/revoke",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(document["paths"][path].is_object(), "{path} missing");
    }
    let metrics = client.ops().metrics().await.unwrap();
    assert!(metrics.contains("# TYPE"), "{metrics}");
}
