//! An in-process server on a fresh store (SQLite, or PostgreSQL under
//! `CHALK_TEST_STORE=postgres`), driven through the router.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use chalk_sdk::SecretString;
use chalk_server::crypto::Sealer;
use chalk_server::{AppState, Policy, build_router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const MASTER: &str = "mk_rooms_test_master_key_0123456789abcdef";

pub struct App {
    pub router: Router,
    pub state: AppState,
    _guard: Box<dyn std::any::Any + Send + Sync>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// One credential header (or none) for a request.
#[derive(Clone)]
pub enum Cred {
    None,
    Master,
    Key(String),
    Bearer(String),
}

pub async fn app() -> App {
    let (store, guard) = crate::support::store::fresh_store().await;
    let sealer = Sealer::from_base64(&Sealer::generate_key_base64()).unwrap();
    let signer = chalk_server::domain::signing::TokenSigner::ed_dsa(store.clone(), sealer.clone())
        .await
        .unwrap();
    let state = AppState::new(
        store,
        SecretString::from(MASTER),
        signer,
        sealer,
        Policy::default(),
    );
    App {
        router: build_router(state.clone()),
        state,
        _guard: guard,
    }
}

impl App {
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        cred: &Cred,
        extra: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        builder = match cred {
            Cred::None => builder,
            Cred::Master => builder.header("x-master-key", MASTER),
            Cred::Key(k) => builder.header("x-api-key", k),
            Cred::Bearer(t) => builder.header("authorization", format!("Bearer {t}")),
        };
        for (name, value) in extra {
            builder = builder.header(*name, *value);
        }
        let request = match body {
            Some(body) => builder
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        }
        .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, cred: &Cred) -> Reply {
        self.send("GET", path, cred, &[], None).await
    }

    pub async fn post(&self, path: &str, cred: &Cred, body: Value) -> Reply {
        self.send("POST", path, cred, &[], Some(body)).await
    }

    /// A tenant with these quotas and config; returns (tenant id, primary API key).
    pub async fn tenant(&self, quotas: Value, config: Value) -> (String, String) {
        let mut body = json!({"name": "Acme University", "config": config});
        for (k, v) in quotas.as_object().unwrap() {
            body[k] = v.clone();
        }
        let reply = self.post("/api/v1/tenants", &Cred::Master, body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        (
            reply.body["data"]["id"].as_str().unwrap().to_owned(),
            reply.body["data"]["api_key"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn patch_config(&self, tenant_id: &str, patch: Value) {
        let reply = self
            .send(
                "PATCH",
                &format!("/api/v1/tenants/{tenant_id}/config"),
                &Cred::Master,
                &[],
                Some(patch),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }

    /// Adds a participant; asserts 201 and returns the body's `data`.
    pub async fn join(&self, key: &Cred, room: &str, body: Value) -> Value {
        let reply = self
            .post(&format!("/api/v1/rooms/{room}/participants"), key, body)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.body["data"].clone()
    }
}
