//! [`Error`]: every way a call can fail, as one matchable type.

use std::fmt;
use std::time::Duration;

use crate::model::{ErrorCode, ErrorEnvelope, FieldError};

/// The result of every SDK call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to the Chalk API.
///
/// Match on [`Error::Api`] (or use [`Error::code`]) for what the server said; the other
/// variants mean no usable answer arrived. `Debug` never prints a response body, since a
/// body can hold a freshly minted key; read it with [`Error::body`] if you need it.
///
/// ```no_run
/// use chalk_sdk::{Error, model::ErrorCode};
/// # async fn run(client: chalk_sdk::Client) {
/// match client.tenants().get("tenant_abc").await {
///     Ok(tenant) => println!("{}", tenant.name),
///     Err(Error::Api { code: ErrorCode::NotFound, .. }) => println!("no such tenant"),
///     Err(e) if e.is_retryable() => println!("try again later: {e}"),
///     Err(e) => println!("failed: {e}"),
/// }
/// # }
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server (or a proxy in front of it) answered with an error status.
    #[error("{}", api_display(*status, code, message, details, request_id.as_deref()))]
    Api {
        /// The HTTP status, e.g. 404.
        status: u16,
        /// The contract's error code; [`ErrorCode::Unknown`] for codes this version does
        /// not know, or for a non-JSON body whose status maps to no code.
        code: ErrorCode,
        /// Human-readable text. For a body that was not the API's error envelope (a
        /// proxy's HTML page, say), a snippet of that body.
        message: String,
        /// The offending fields of a `VALIDATION_ERROR` (empty otherwise).
        details: Vec<FieldError>,
        /// The request id from the body or the `X-Request-Id` header: quote it in bug reports.
        request_id: Option<String>,
        /// The `Retry-After` header, in seconds, when the server sent one (429, 503).
        retry_after: Option<Duration>,
    },
    /// The request could not be sent or the response not read (connection refused,
    /// reset, DNS, TLS...).
    #[error("could not reach the Chalk API: {0}")]
    Transport(#[source] reqwest::Error),
    /// No complete response arrived within the client's timeout.
    #[error("the request to the Chalk API timed out")]
    Timeout(#[source] reqwest::Error),
    /// A success response whose body does not have the expected shape.
    #[error("could not decode the response at `{path}`: {message}")]
    Decode {
        /// The JSON path that failed, e.g. `data.config.allowed_origins[0]` (`.` for the root).
        path: String,
        /// What was wrong there.
        message: String,
        /// The raw body (lossy UTF-8). Not shown by `Debug`: it may hold a secret.
        body: String,
    },
    /// The client was built or called with invalid input: a bad base URL, several
    /// credentials, an idempotency key or ETag that is not a valid header value...
    #[error("invalid client configuration: {0}")]
    Config(String),
}

fn api_display(
    status: u16,
    code: &ErrorCode,
    message: &str,
    details: &[FieldError],
    request_id: Option<&str>,
) -> String {
    let mut text = format!("{code} ({status}): {message}");
    for detail in details {
        text.push_str(&format!("; {}: {}", detail.field, detail.message));
    }
    if let Some(id) = request_id {
        text.push_str(&format!(" [request id {id}]"));
    }
    text
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api {
                status,
                code,
                message,
                details,
                request_id,
                retry_after,
            } => f
                .debug_struct("Api")
                .field("status", status)
                .field("code", code)
                .field("message", message)
                .field("details", details)
                .field("request_id", request_id)
                .field("retry_after", retry_after)
                .finish(),
            Error::Transport(e) => f.debug_tuple("Transport").field(e).finish(),
            Error::Timeout(e) => f.debug_tuple("Timeout").field(e).finish(),
            Error::Decode {
                path,
                message,
                body,
            } => f
                .debug_struct("Decode")
                .field("path", path)
                .field("message", message)
                .field(
                    "body",
                    &format_args!("<{} bytes, see Error::body>", body.len()),
                )
                .finish(),
            Error::Config(text) => f.debug_tuple("Config").field(text).finish(),
        }
    }
}

impl Error {
    /// Whether the same request may succeed if sent again later: 429, 5xx, connection
    /// failures and timeouts. The client already retries safe requests by itself (see
    /// [`RetryPolicy`](crate::RetryPolicy)); this tells you whether to retry at a higher level.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) {
    /// if let Err(e) = client.tenants().current().await {
    ///     eprintln!("{e} (retryable: {})", e.is_retryable());
    /// }
    /// # }
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => *status == 429 || (500..=599).contains(status),
            Error::Transport(e) => !(e.is_builder() || e.is_redirect() || e.is_decode()),
            Error::Timeout(_) => true,
            Error::Decode { .. } | Error::Config(_) => false,
        }
    }

    /// The API's error code, for [`Error::Api`].
    ///
    /// ```no_run
    /// use chalk_sdk::model::ErrorCode;
    /// # async fn run(client: chalk_sdk::Client) {
    /// let err = client.tenants().get("tenant_gone").await.unwrap_err();
    /// assert_eq!(err.code(), Some(&ErrorCode::NotFound));
    /// # }
    /// ```
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, for [`Error::Api`].
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) {
    /// let err = client.tenants().get("tenant_gone").await.unwrap_err();
    /// assert_eq!(err.status(), Some(404));
    /// # }
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's request id, for [`Error::Api`]: quote it in bug reports.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) {
    /// if let Err(e) = client.tenants().current().await {
    ///     eprintln!("{e} (request id {:?})", e.request_id());
    /// }
    /// # }
    /// ```
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The field errors of a `VALIDATION_ERROR` (empty for anything else).
    ///
    /// ```no_run
    /// use chalk_sdk::model::CreateTenantRequest;
    /// # async fn run(client: chalk_sdk::Client) {
    /// if let Err(e) = client.tenants().create(&CreateTenantRequest::new("")).await {
    ///     for field in e.details() {
    ///         eprintln!("{}: {}", field.field, field.message);
    ///     }
    /// }
    /// # }
    /// ```
    pub fn details(&self) -> &[FieldError] {
        match self {
            Error::Api { details, .. } => details,
            _ => &[],
        }
    }

    /// How long the server asked to wait (`Retry-After`), for [`Error::Api`].
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) {
    /// if let Err(e) = client.tenants().current().await {
    ///     if let Some(wait) = e.retry_after() {
    ///         tokio::time::sleep(wait).await;
    ///     }
    /// }
    /// # }
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The raw response body of a [`Error::Decode`].
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) {
    /// if let Err(e) = client.tenants().current().await {
    ///     if let Some(body) = e.body() {
    ///         eprintln!("unexpected response: {body}");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn body(&self) -> Option<&str> {
        match self {
            Error::Decode { body, .. } => Some(body),
            _ => None,
        }
    }

    pub(crate) fn from_reqwest(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Error::Timeout(error)
        } else {
            Error::Transport(error)
        }
    }

    /// An error response: the API's envelope when the body is one, else a mapping of the
    /// status with a snippet of the body.
    pub(crate) fn from_response(
        status: u16,
        header_request_id: Option<String>,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Self {
        if let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(body) {
            let error = envelope.error;
            return Error::Api {
                status,
                code: error.code,
                message: error.message,
                details: error.details.unwrap_or_default(),
                request_id: error.request_id.or(header_request_id),
                retry_after,
            };
        }
        let snippet = snippet(body);
        let message = if snippet.is_empty() {
            format!("HTTP {status} with an empty body")
        } else {
            format!("HTTP {status} with a body that is not a Chalk error: {snippet}")
        };
        Error::Api {
            status,
            code: code_for_status(status),
            message,
            details: Vec::new(),
            request_id: header_request_id,
            retry_after,
        }
    }

    pub(crate) fn decode(
        error: serde_path_to_error::Error<serde_json::Error>,
        body: &[u8],
    ) -> Self {
        Error::Decode {
            path: error.path().to_string(),
            message: error.inner().to_string(),
            body: String::from_utf8_lossy(body).into_owned(),
        }
    }
}

/// The contract's code for a status, for error bodies that are not the API's envelope
/// (a proxy or load balancer answered). Gateway errors count as `UNAVAILABLE`.
fn code_for_status(status: u16) -> ErrorCode {
    match status {
        400 => ErrorCode::InvalidRequest,
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        409 => ErrorCode::Conflict,
        412 => ErrorCode::PreconditionFailed,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        422 => ErrorCode::ValidationError,
        429 => ErrorCode::RateLimited,
        500 => ErrorCode::Internal,
        502..=504 => ErrorCode::Unavailable,
        other => ErrorCode::Unknown(format!("HTTP_{other}")),
    }
}

/// At most 200 characters of a body, whitespace collapsed, for an error message.
fn snippet(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > MAX {
        let cut: String = collapsed.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        collapsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_is_decoded_and_header_request_id_is_the_fallback() {
        let body = br#"{"error":{"code":"NOT_FOUND","message":"Tenant not found"}}"#;
        let e = Error::from_response(404, Some("req_h".into()), None, body);
        assert_eq!(e.code(), Some(&ErrorCode::NotFound));
        assert_eq!(e.request_id(), Some("req_h"));
        assert_eq!(
            e.to_string(),
            "NOT_FOUND (404): Tenant not found [request id req_h]"
        );
    }

    #[test]
    fn long_bodies_are_cut() {
        let body = "x".repeat(1000);
        let e = Error::from_response(418, None, None, body.as_bytes());
        assert_eq!(e.code(), Some(&ErrorCode::Unknown("HTTP_418".into())));
        let Error::Api { message, .. } = e else {
            panic!("expected Api")
        };
        assert!(message.len() < 300, "{message}");
        assert!(message.ends_with('…'));
    }

    #[test]
    fn empty_body_says_so() {
        let e = Error::from_response(503, None, None, b"");
        assert_eq!(e.code(), Some(&ErrorCode::Unavailable));
        assert!(e.to_string().contains("empty body"), "{e}");
    }
}
