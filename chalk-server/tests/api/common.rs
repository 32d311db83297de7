//! The application under test and a small request builder.
//!
//! Every test gets its own [`TestApp`]: a fresh store from [`test_store`] (the one place
//! that decides which database the suite runs on) and state built the way `startup.rs`
//! builds it, with known secrets so tests can mint and forge tokens.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request};
use chalk_sdk::SecretString;
use chalk_server::crypto::Sealer;
use chalk_server::domain::signing::TokenSigner;
use chalk_server::store::Store;
use chalk_server::{AppState, Policy};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const MASTER_KEY: &str = "test-master-key-0123456789abcdefghijklmnop";
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef0123456789";

/// A store of its own for one test (SQLite, or PostgreSQL under `CHALK_TEST_STORE=postgres`);
/// the guard keeps its files alive.
pub async fn test_store() -> (Arc<Store>, Box<dyn std::any::Any + Send + Sync>) {
    crate::support::store::fresh_store().await
}

/// Whether the suite runs in HS256 mode (`CHALK_TEST_JWT_ALGORITHM=HS256`): EdDSA keys
/// in the store otherwise (the default), so the whole suite can be run once in each mode.
pub fn hs256_mode() -> bool {
    std::env::var("CHALK_TEST_JWT_ALGORITHM").is_ok_and(|v| v.eq_ignore_ascii_case("HS256"))
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    _guard: Box<dyn std::any::Any + Send + Sync>,
}

pub async fn test_app() -> TestApp {
    test_app_with(Policy::default()).await
}

pub async fn test_app_with(policy: Policy) -> TestApp {
    test_app_signing(policy, hs256_mode()).await
}

/// An app that signs with HS256 and [`JWT_SECRET`] whatever the suite's mode.
pub async fn test_app_hs256() -> TestApp {
    test_app_signing(Policy::default(), true).await
}

async fn test_app_signing(policy: Policy, hs256: bool) -> TestApp {
    let (store, guard) = test_store().await;
    let sealer = Sealer::from_base64(&Sealer::generate_key_base64()).expect("sealer");
    let signer = if hs256 {
        TokenSigner::new(JWT_SECRET.as_bytes())
    } else {
        TokenSigner::ed_dsa(store.clone(), sealer.clone())
            .await
            .expect("signing keys")
    };
    let state = AppState::new(store, SecretString::new(MASTER_KEY), signer, sealer, policy);
    TestApp {
        router: chalk_server::build_router(state.clone()),
        state,
        _guard: guard,
    }
}

/// A tenant made through the API, with its primary key.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub key: String,
    pub key_id: String,
    pub body: Value,
}

/// An access/refresh pair from `/auth/token`.
#[derive(Debug, Clone)]
pub struct Pair {
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    pub fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            app: self,
            request: Request::builder().method(method).uri(path.to_owned()),
            body: Body::empty(),
        }
    }
    pub fn get(&self, path: &str) -> Call<'_> {
        self.call(Method::GET, path)
    }
    pub fn post(&self, path: &str) -> Call<'_> {
        self.call(Method::POST, path)
    }
    pub fn patch(&self, path: &str) -> Call<'_> {
        self.call(Method::PATCH, path)
    }
    pub fn delete(&self, path: &str) -> Call<'_> {
        self.call(Method::DELETE, path)
    }

    pub async fn create_tenant(&self, body: Value) -> Tenant {
        let response = self
            .post("/api/v1/tenants")
            .master()
            .json(body)
            .send()
            .await;
        response.assert_status(201);
        let data = response.body["data"].clone();
        Tenant {
            id: data["id"].as_str().unwrap().to_owned(),
            key: data["api_key"].as_str().unwrap().to_owned(),
            key_id: data["key_id"].as_str().unwrap().to_owned(),
            body: data,
        }
    }

    pub async fn tenant(&self, name: &str) -> Tenant {
        self.create_tenant(json!({ "name": name })).await
    }

    /// A scoped extra key of `tenant`, made with the master key.
    pub async fn scoped_key(&self, tenant: &Tenant, scopes: &[&str]) -> (String, String) {
        let response = self
            .post(&format!("/api/v1/tenants/{}/api-keys", tenant.id))
            .master()
            .json(json!({"name": "scoped", "scopes": scopes}))
            .send()
            .await;
        response.assert_status(201);
        (
            response.body["data"]["api_key"]
                .as_str()
                .unwrap()
                .to_owned(),
            response.body["data"]["key_id"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn token(&self, api_key: &str) -> Pair {
        let response = self
            .post("/api/v1/auth/token")
            .json(json!({ "api_key": api_key }))
            .send()
            .await;
        response.assert_status(200);
        pair(&response.body)
    }

    /// The tenant as the master key sees it now.
    pub async fn read_tenant(&self, id: &str) -> Response {
        self.get(&format!("/api/v1/tenants/{id}"))
            .master()
            .send()
            .await
    }
}

pub fn pair(body: &Value) -> Pair {
    Pair {
        access: body["data"]["access_token"].as_str().unwrap().to_owned(),
        refresh: body["data"]["refresh_token"].as_str().unwrap().to_owned(),
    }
}

pub struct Call<'a> {
    app: &'a TestApp,
    request: axum::http::request::Builder,
    body: Body,
}

impl Call<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }
    /// As if sent over a connection from `address` (what `serve` records for each request).
    pub fn peer(mut self, address: &str) -> Self {
        let address: std::net::SocketAddr = address.parse().expect("a socket address");
        self.request = self.request.extension(axum::extract::ConnectInfo(address));
        self
    }
    pub fn master(self) -> Self {
        self.header("X-Master-Key", MASTER_KEY)
    }
    pub fn key(self, api_key: &str) -> Self {
        self.header("X-API-Key", api_key)
    }
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }
    pub fn json(mut self, body: Value) -> Self {
        self.request = self.request.header("Content-Type", "application/json");
        self.body = Body::from(body.to_string());
        self
    }
    /// A body sent as is, with no content type unless one is added with `header`.
    pub fn raw(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    pub async fn send(self) -> Response {
        let request = self.request.body(self.body).expect("valid request");
        send(&self.app.router, request).await
    }
}

pub async fn send(router: &Router, request: Request<Body>) -> Response {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Response {
        status,
        headers,
        body,
        text,
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert!(
            self.header("x-request-id").is_some_and(|id| !id.is_empty()),
            "every response carries X-Request-Id"
        );
        self
    }

    /// Asserts the contract's error envelope with this status and code, its request id
    /// equal to the X-Request-Id header; returns the `error` object.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &Value {
        self.assert_status(status);
        let error = &self.body["error"];
        assert_eq!(error["code"], code, "body: {}", self.text);
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "an error has a message: {}",
            self.text
        );
        assert_eq!(
            error["request_id"].as_str(),
            self.header("x-request-id"),
            "request_id in the body is the X-Request-Id header"
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "errors are JSON"
        );
        error
    }

    /// The `details[].field` of an error, in order.
    pub fn fields(&self) -> Vec<String> {
        self.body["error"]["details"]
            .as_array()
            .map(|d| {
                d.iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }

    pub fn etag(&self) -> String {
        self.header("etag").expect("an ETag header").to_owned()
    }
}

/// Waits out the current one-minute window when fewer than `needed` seconds remain, so
/// that a test's requests all fall in one rate-limit window.
pub async fn fresh_window(needed: i64) {
    let now = chrono::Utc::now().timestamp();
    let left = 60 - now.rem_euclid(60);
    if left < needed {
        tokio::time::sleep(std::time::Duration::from_secs(left as u64 + 1)).await;
    }
}

/// Every audit entry matching `query` (`&action=…`, `&tenant_id=…`), oldest first, as the
/// master key reads them.
pub async fn audit_entries(app: &TestApp, query: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/audit-events?limit=200{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.get(&path).master().send().await;
        page.assert_status(200);
        entries.extend(page.body["data"].as_array().unwrap().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return entries,
        }
    }
}
