//! Operations endpoints: liveness, readiness, metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::Health;

use crate::error::{ApiError, ApiResult};
use crate::http::state::AppState;

pub const TAG: &str = "operations";

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = TAG, responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// The store answers and the server is not shutting down.
#[utoipa::path(get, path = "/readyz", tag = TAG,
    responses((status = 200, body = Health), (status = 503, body = chalk_sdk::model::ErrorEnvelope)))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    if state.is_shutting_down() {
        return Err(ApiError::unavailable("shutting down"));
    }
    state.store.ping().await?;
    Ok(Json(Health {
        status: "ready".into(),
    }))
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = TAG,
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}
