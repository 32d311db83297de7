//! The Chalk tenant API server.
//!
//! [`build_router`] assembles the application for a given [`AppState`] (tests drive it
//! in-process); [`serve`] runs it on a listener until a shutdown signal.

pub mod auth;
pub mod context;
pub mod cors;
pub mod crypto;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod rate_limit;
pub mod room_sweeper;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod store;
pub mod tenant_config;
pub mod tokens;
pub mod validate;
pub mod webhook_target;

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware;
use axum::middleware::Next;
use tower_http::catch_panic::CatchPanicLayer;

pub use state::{AppState, Policy};

use error::ApiError;

/// Every route of the API, its middleware, and the OpenAPI document built from the same
/// handlers.
pub fn build_router(state: AppState) -> Router {
    let (api, document) = openapi::api_router().split_for_parts();
    // Serialized once: the document is the same for the life of the process.
    let document = serde_json::to_value(&document).expect("the OpenAPI document always serializes");
    let operations = Arc::new(documented_operations(&document));
    let document: axum::body::Bytes = serde_json::to_vec(&document)
        .expect("the OpenAPI document always serializes")
        .into();
    let auth_state = state.clone();
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
        // Credentials are resolved only for documented operations that take one, so an
        // unknown path is a plain 404 and an unsupported method a plain 405, whatever
        // headers they carry.
        .route_layer(middleware::from_fn(move |req: Request, next: Next| {
            let state = auth_state.clone();
            let operations = operations.clone();
            async move {
                if is_documented(&operations, &req) {
                    auth::authenticate(State(state), req, next).await
                } else {
                    next.run(req).await
                }
            }
        }))
        .fallback(|| async { ApiError::not_found("Endpoint") })
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(context::panic_response))
        .layer(middleware::from_fn(cors::cors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            context::request_context,
        ))
        .with_state(state)
}

/// `(METHOD, path template)` of every operation in the document that needs a credential.
fn documented_operations(document: &serde_json::Value) -> HashSet<(String, String)> {
    let mut operations = HashSet::new();
    if let Some(paths) = document["paths"].as_object() {
        for (path, item) in paths {
            for method in ["get", "put", "post", "delete", "patch"] {
                // Operations without a security requirement (health, metrics, the token
                // exchange) ignore credential headers: a stray bad one must not fail them.
                if item
                    .get(method)
                    .is_some_and(|op| op.get("security").is_some())
                {
                    operations.insert((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
    }
    operations
}

fn is_documented(operations: &HashSet<(String, String)>, req: &Request) -> bool {
    let Some(path) = req.extensions().get::<MatchedPath>() else {
        return false;
    };
    // axum answers HEAD with the GET handler.
    let method = match req.method().as_str() {
        "HEAD" => "GET",
        other => other,
    };
    operations.contains(&(method.to_owned(), path.as_str().to_owned()))
}

/// Serves until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let draining = state.clone();
    let sweeper = room_sweeper::spawn(state.clone(), room_sweeper::DEFAULT_INTERVAL);
    let served = axum::serve(listener, build_router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            draining.begin_shutdown();
            tracing::info!("shutting down: finishing in-flight requests");
        })
        .await;
    sweeper.abort();
    served
}
