//! Clients and fixtures shared by the end-to-end tests.

use chalk_sdk::model::{CreateTenantRequest, CreatedTenant};
use chalk_sdk::{Client, RetryPolicy};

use crate::common::{MASTER_KEY, TestServer};

/// A client of `server` holding the master key. No retries: a test sees the first answer.
pub fn master(server: &TestServer) -> Client {
    Client::builder()
        .base_url(&server.base_url)
        .master_key(MASTER_KEY)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("master client")
}

/// A client of `server` holding a tenant API key, sent as `X-API-Key`.
pub fn with_key(server: &TestServer, api_key: &chalk_sdk::SecretString) -> Client {
    Client::builder()
        .base_url(&server.base_url)
        .api_key(api_key.clone())
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("api key client")
}

/// A client of `server` with no credential (for `auth()` calls).
pub fn anonymous(server: &TestServer) -> Client {
    Client::builder()
        .base_url(&server.base_url)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("anonymous client")
}

/// Creates a tenant with the master key.
pub async fn create_tenant(server: &TestServer, name: &str) -> CreatedTenant {
    master(server)
        .tenants()
        .create(&CreateTenantRequest::new(name))
        .await
        .expect("create tenant")
}

/// A request as it passed through a [`Proxy`].
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Whether it carried `Authorization` (a bearer token).
    pub bearer: bool,
    /// Whether it carried `X-API-Key`.
    pub api_key: bool,
    pub idempotency_key: Option<String>,
    /// The status the client was given.
    pub status: u16,
}

struct Fault {
    method: String,
    path: String,
    status: u16,
}

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    seen: std::sync::Mutex<Vec<Seen>>,
    faults: std::sync::Mutex<Vec<Fault>>,
}

/// A forwarding proxy in front of a real server, on its own port: it records what the
/// SDK sends and can lose a response on the way back (the server acted, the client
/// sees a gateway error), which is exactly when retries and idempotency keys matter.
pub struct Proxy {
    pub base_url: String,
    state: std::sync::Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(server: &TestServer) -> Proxy {
        let state = std::sync::Arc::new(ProxyState {
            upstream: server.base_url.clone(),
            http: reqwest::Client::new(),
            seen: Default::default(),
            faults: Default::default(),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Proxy {
            base_url,
            state,
            task,
        }
    }

    /// The next `method path` is forwarded, but its answer replaced by `status` with a
    /// body that is not JSON.
    pub fn lose_next_response(&self, method: &str, path: &str, status: u16) {
        self.state.faults.lock().unwrap().push(Fault {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
        });
    }

    /// Everything forwarded so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// The requests forwarded so far to `method path`.
    pub fn seen_at(&self, method: &str, path: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == method && s.path == path)
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<ProxyState>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::http::header;

    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let path = parts.uri.path().to_owned();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or(path.clone(), |p| p.as_str().to_owned());
    let mut upstream = state
        .http
        .request(
            parts.method.clone(),
            format!("{}{path_and_query}", state.upstream),
        )
        .body(body);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            upstream = upstream.header(name, value);
        }
    }
    let answer = upstream.send().await.expect("upstream answers");
    let mut status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let mut bytes = answer.bytes().await.expect("upstream body").to_vec();

    let fault = {
        let mut faults = state.faults.lock().unwrap();
        faults
            .iter()
            .position(|f| f.method == parts.method.as_str() && f.path == path)
            .map(|i| faults.remove(i))
    };
    let mut response = axum::response::Response::builder();
    if let Some(fault) = fault {
        status = fault.status;
        bytes = b"<html><body>upstream connection reset</body></html>".to_vec();
        response = response.header(header::CONTENT_TYPE, "text/html");
    } else {
        for (name, value) in &headers {
            if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
                response = response.header(name, value);
            }
        }
    }
    let has = |name: &str| parts.headers.contains_key(name);
    state.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path,
        bearer: has("authorization"),
        api_key: has("x-api-key"),
        idempotency_key: parts
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        status,
    });
    response
        .status(status)
        .body(axum::body::Body::from(bytes))
        .unwrap()
}
