//! The HTTP layer: the router and its middleware, credentials, limits, the request
//! context, idempotency, pagination, the OpenAPI document and the handlers (`routes/`).
//! Handlers extract, call `domain/`, and render; nothing below this layer imports it.

pub mod context;
pub mod cors;
pub mod credentials;
pub mod denial_log;
pub mod denials;
pub mod extract;
pub mod idempotency;
pub mod openapi;
pub mod pagination;
pub mod rate_limit;
pub mod routes;
pub mod server;
pub mod state;
pub mod throttle;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::ApiError;
pub use state::AppState;

/// Every route of the API, its middleware, and the OpenAPI document built from the same
/// handlers.
pub fn build_router(state: AppState) -> Router {
    Routes::build().into_router(state)
}

/// The routes, before any state. Cheap to build (the document is built on its first
/// request), and built while a starting server's store opens (`app::startup`).
pub struct Routes {
    api: Router<AppState>,
}

impl Routes {
    pub fn build() -> Self {
        Self {
            api: openapi::served_router(),
        }
    }

    /// The application: these routes, their middleware and `state`.
    pub fn into_router(self, state: AppState) -> Router {
        router(self.api, state)
    }
}

/// The serialized OpenAPI document: the same for the life of the process, built once on
/// its first request, off the async workers (it takes ~10 ms of CPU), instead of by every
/// starting server before it can answer.
async fn openapi_document() -> Result<axum::body::Bytes, ApiError> {
    static DOCUMENT: tokio::sync::OnceCell<axum::body::Bytes> = tokio::sync::OnceCell::const_new();
    DOCUMENT
        .get_or_try_init(|| async {
            tokio::task::spawn_blocking(|| {
                serde_json::to_vec(&openapi::document())
                    .map(axum::body::Bytes::from)
                    .map_err(|e| {
                        ApiError::internal(format!("serializing the OpenAPI document: {e}"))
                    })
            })
            .await
            .map_err(|e| ApiError::internal(format!("building the OpenAPI document: {e}")))?
        })
        .await
        .cloned()
}

/// What every request passes before its route's own middleware, outermost first:
/// - the request context (`context.rs`): its id, the envelope on every error, the log
///   line and the metrics;
/// - CORS (`cors.rs`), inside the context so that its refusals get the envelope;
/// - the failed-authentication throttle (`throttle.rs`), inside CORS so that a browser
///   sees its 429, inside the context so that the 429 gets a request id;
/// - `%00` in the path or query, refused once for every route (`extract.rs`).
///
/// One layer calling the four in turn, not a layer each: axum puts each layer around every
/// route, and clones and boxes the route's whole stack of them for each request; three
/// layers fewer served a cached `GET` in ~4 µs less CPU (bench/README.md).
async fn around_every_route(State(state): State<AppState>, req: Request, next: Next) -> Response {
    context::request_context(&state, req, |req| {
        cors::cors(req, |req| {
            throttle::throttle_failures(&state, req, |req| {
                extract::refuse_nul_in_uri(req, |req| next.run(req))
            })
        })
    })
    .await
}

fn router(api: Router<AppState>, state: AppState) -> Router {
    Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(|| async {
                openapi_document().await.map(|document| {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        document,
                    )
                })
            }),
        )
        .fallback(|| async { ApiError::not_found("Endpoint") })
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(context::panic_response))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            around_every_route,
        ))
        .with_state(state)
}
