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
use axum::middleware;
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::ApiError;
pub use state::AppState;

/// Every route of the API, its middleware, and the OpenAPI document built from the same
/// handlers.
pub fn build_router(state: AppState) -> Router {
    Routes::build().into_router(state)
}

/// The routes and the serialized OpenAPI document, before any state: the part of the
/// router that costs time to build (the document, most of it), so that a starting server
/// can build it while its store opens (`app::startup`).
pub struct Routes {
    api: Router<AppState>,
    document: axum::body::Bytes,
}

impl Routes {
    pub fn build() -> Self {
        let (api, document) = openapi::api_router().split_for_parts();
        // Serialized once: the document is the same for the life of the process.
        let document = serde_json::to_vec(&document)
            .expect("the OpenAPI document always serializes")
            .into();
        Self { api, document }
    }

    /// The application: these routes, their middleware and `state`.
    pub fn into_router(self, state: AppState) -> Router {
        let Routes { api, document } = self;
        router(api, document, state)
    }
}

fn router(api: Router<AppState>, document: axum::body::Bytes, state: AppState) -> Router {
    Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        document,
                    )
                }
            }),
        )
        .fallback(|| async { ApiError::not_found("Endpoint") })
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(context::panic_response))
        // `%00` in the path or query: refused once, here, for every route.
        .layer(middleware::from_fn(extract::refuse_nul_in_uri))
        // Inside CORS (a browser sees the 429) and inside the request context (it gets the
        // envelope and a request id).
        .layer(middleware::from_fn_with_state(
            state.clone(),
            throttle::throttle_failures,
        ))
        .layer(middleware::from_fn(cors::cors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            context::request_context,
        ))
        .with_state(state)
}
