//! [`ApiError`]: the one type that becomes every error response.
//!
//! A handler returns `Err(ApiError)`; `into_response` renders the contract's envelope and
//! parks the error in the response's extensions, where the request-context middleware
//! (`context.rs`) adds the request id and logs internal causes. Errors produced outside
//! handlers (axum's own 404/405/413, a panic) are turned into the same envelope there.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::{ErrorBody, ErrorCode, ErrorEnvelope, FieldError};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<FieldError>,
    /// Seconds, for 429.
    pub retry_after: Option<u64>,
    /// What really happened, for the log only (5xx). Never sent to the client.
    pub internal_cause: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
            internal_cause: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// 400 naming one query parameter or header.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(ErrorCode::InvalidRequest, format!("{field}: {message}"))
            .with_details(vec![FieldError::new(field, message)])
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn token_expired() -> Self {
        Self::new(ErrorCode::TokenExpired, "Access token has expired")
    }

    pub fn invalid_refresh_token() -> Self {
        Self::new(
            ErrorCode::InvalidRefreshToken,
            "Refresh token is invalid or expired",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn tenant_suspended() -> Self {
        Self::new(ErrorCode::TenantSuspended, "The tenant is suspended")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn precondition_failed() -> Self {
        Self::new(
            ErrorCode::PreconditionFailed,
            "If-Match does not name the current revision; fetch the resource again and retry",
        )
    }

    /// 422 listing every bad field.
    pub fn validation(details: Vec<FieldError>) -> Self {
        let fields: Vec<&str> = details.iter().map(|d| d.field.as_str()).collect();
        let message = match details.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("invalid fields: {}", fields.join(", ")),
        };
        Self::new(ErrorCode::ValidationError, message).with_details(details)
    }

    pub fn validation_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        let mut error = Self::new(
            ErrorCode::RateLimited,
            format!("Rate limit exceeded; retry in {retry_after} s"),
        );
        error.retry_after = Some(retry_after);
        error
    }

    /// 500: the cause is logged with the request id, the client sees a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut error = Self::new(ErrorCode::Internal, "Internal server error");
        error.internal_cause = Some(cause.to_string());
        error
    }

    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        let mut error = Self::new(
            ErrorCode::Unavailable,
            "The service is temporarily unavailable; retry shortly",
        );
        error.internal_cause = Some(cause.to_string());
        error
    }

    /// The envelope this error renders as.
    pub fn envelope(&self, request_id: Option<String>) -> ErrorEnvelope {
        ErrorEnvelope {
            error: ErrorBody {
                code: self.code.clone(),
                message: self.message.clone(),
                details: (!self.details.is_empty()).then(|| self.details.clone()),
                request_id,
            },
        }
    }

    /// The full response, with the request id when it is known.
    pub fn render(&self, request_id: Option<String>) -> Response {
        let body = serde_json::to_vec(&self.envelope(request_id))
            .expect("the error envelope always serializes");
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Marks a response as carrying an [`ApiError`], so the context middleware can complete it.
#[derive(Clone)]
pub struct RenderedError(pub Arc<ApiError>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.render(None);
        response
            .extensions_mut()
            .insert(RenderedError(Arc::new(self)));
        response
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        match error {
            crate::store::StoreError::Unavailable(cause) => ApiError::unavailable(cause),
            crate::store::StoreError::NotFound(what) => ApiError::not_found(what),
            // Domain code maps the conflicts it expects to the field they concern; one that
            // reaches here is still the caller's conflict, not a server fault.
            crate::store::StoreError::Conflict(_) => {
                ApiError::conflict("The request conflicts with an existing resource")
            }
            crate::store::StoreError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}
