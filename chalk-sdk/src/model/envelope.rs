//! The response envelopes and the error body shared by every endpoint.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// `{"data": ...}`: every successful response that is not a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Data<T> {
    pub data: T,
}

/// One page of a list: `{"data": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `?cursor=` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `{"error": {...}}`: every failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

/// What went wrong, in a form a program can match on and a person can read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// One entry per offending field, for `VALIDATION_ERROR` and some `INVALID_REQUEST`s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<FieldError>>,
    /// The request id, also in the `X-Request-Id` response header: quote it in bug reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// One invalid field: `{"field": "config.allowed_origins[3]", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    /// A field error: the JSON path of the offending field and what is wrong with it.
    ///
    /// ```
    /// let error = chalk_sdk::model::FieldError::new("config.allowed_origins[3]", "must be an origin");
    /// assert_eq!(error.field, "config.allowed_origins[3]");
    /// ```
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

macro_rules! error_codes {
    ($($variant:ident => $text:literal, $status:literal;)*) => {
        /// The machine-readable error code of the contract. Codes this version does not
        /// know arrive as [`ErrorCode::Unknown`], so a newer server never breaks an older client.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($variant,)*
            Unknown(String),
        }

        impl ErrorCode {
            /// Every code this version knows, in contract order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it appears on the wire, e.g. `"NOT_FOUND"`.
            ///
            /// ```
            /// use chalk_sdk::model::ErrorCode;
            /// assert_eq!(ErrorCode::TenantSuspended.as_str(), "TENANT_SUSPENDED");
            /// assert_eq!(ErrorCode::Unknown("TEAPOT".into()).as_str(), "TEAPOT");
            /// ```
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                    ErrorCode::Unknown(other) => other,
                }
            }

            /// The HTTP status the contract pairs with this code (500 for unknown codes).
            ///
            /// ```
            /// use chalk_sdk::model::ErrorCode;
            /// assert_eq!(ErrorCode::PreconditionFailed.http_status(), 412);
            /// assert_eq!(ErrorCode::QuotaExceeded.http_status(), 409);
            /// ```
            pub fn http_status(&self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                    ErrorCode::Unknown(_) => 500,
                }
            }

            fn from_wire(text: &str) -> Self {
                match text {
                    $($text => ErrorCode::$variant,)*
                    other => ErrorCode::Unknown(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    InvalidRequest => "INVALID_REQUEST", 400;
    Unauthorized => "UNAUTHORIZED", 401;
    TokenExpired => "TOKEN_EXPIRED", 401;
    InvalidRefreshToken => "INVALID_REFRESH_TOKEN", 401;
    Forbidden => "FORBIDDEN", 403;
    TenantSuspended => "TENANT_SUSPENDED", 403;
    NotFound => "NOT_FOUND", 404;
    MethodNotAllowed => "METHOD_NOT_ALLOWED", 405;
    Conflict => "CONFLICT", 409;
    QuotaExceeded => "QUOTA_EXCEEDED", 409;
    PreconditionFailed => "PRECONDITION_FAILED", 412;
    PayloadTooLarge => "PAYLOAD_TOO_LARGE", 413;
    UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE", 415;
    ValidationError => "VALIDATION_ERROR", 422;
    RateLimited => "RATE_LIMITED", 429;
    Internal => "INTERNAL", 500;
    Unavailable => "UNAVAILABLE", 503;
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(ErrorCode::from_wire(&text))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str().to_owned())))
            .description(Some(
                "Machine-readable error code. Clients must accept codes they do not know.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_is_kept() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(&back, code);
        }
        let unknown: ErrorCode = serde_json::from_str("\"BRAND_NEW\"").unwrap();
        assert_eq!(unknown, ErrorCode::Unknown("BRAND_NEW".into()));
        assert_eq!(unknown.as_str(), "BRAND_NEW");
    }
}
