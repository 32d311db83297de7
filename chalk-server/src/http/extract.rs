//! Request extractors whose failures speak the contract's envelope.
//!
//! Bodies are read as bytes and parsed in two steps: first as JSON (a syntax error is
//! 400 with line and column), then into the typed request (a wrong type, a missing or an
//! unknown field is 422 naming the field).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chalk_sdk::model::FieldError;
use serde::de::DeserializeOwned;

use crate::domain::validate::join_path;
use serde_json::Value;

use crate::error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON request body, syntax-checked. Use [`parse`] to type it.
#[derive(Debug, Clone)]
pub struct JsonBody(pub Value);

/// A body that may be empty (no content type needed then), else JSON.
#[derive(Debug, Clone)]
pub struct OptionalJsonBody(pub Option<Value>);

fn is_json_content_type(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

async fn read_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                chalk_sdk::model::ErrorCode::PayloadTooLarge,
                "Request body is larger than 64 KiB",
            )
        } else {
            ApiError::invalid_request(format!("Could not read the request body: {rejection}"))
        }
    })
}

fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    let value = serde_json::from_slice(bytes)
        .map(integral_numbers)
        .map_err(|e| {
            ApiError::invalid_request(format!(
                "Malformed JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ))
        })?;
    refuse_nul_in_json(&value)?;
    Ok(value)
}

const NUL_MESSAGE: &str = "must not contain a NUL character (U+0000)";

/// A NUL character anywhere in a body's strings (or its keys) is 422 naming each place:
/// PostgreSQL cannot store one in text and SQLite would, so it is refused here, before
/// any store sees it, identically on both.
pub fn refuse_nul_in_json(value: &Value) -> Result<(), ApiError> {
    let mut found = Vec::new();
    find_nul(value, String::new(), &mut found);
    if found.is_empty() {
        return Ok(());
    }
    Err(ApiError::validation(
        found
            .into_iter()
            .map(|path| FieldError::new(if path.is_empty() { "body" } else { &path }, NUL_MESSAGE))
            .collect(),
    ))
}

/// Collects the paths (`config.transcription_keywords[2]`, serde_path_to_error's form) of
/// strings holding a NUL; at most 20 of them.
fn find_nul(value: &Value, path: String, found: &mut Vec<String>) {
    const MAX_REPORTED: usize = 20;
    if found.len() >= MAX_REPORTED {
        return;
    }
    match value {
        Value::String(text) if text.contains('\0') => found.push(path),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                find_nul(item, format!("{path}[{index}]"), found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let child = join_path(&path, &key.replace('\0', "\\u0000"));
                if key.contains('\0') {
                    if found.len() < MAX_REPORTED {
                        found.push(child);
                    }
                    continue;
                }
                find_nul(item, child, found);
            }
        }
        _ => {}
    }
}

/// `%00` in a request's path or query string. A path with a NUL names nothing (404, as
/// an unknown id would be); a query parameter with one is 400 naming it. One check for
/// every route, before any handler or store sees the text.
pub async fn refuse_nul_in_uri<F: Future<Output = Response>>(
    req: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    if req.uri().path().contains("%00") {
        return ApiError::new(
            chalk_sdk::model::ErrorCode::NotFound,
            "Not found: nothing is named with a NUL character (%00)",
        )
        .into_response();
    }
    if let Some(query) = req.uri().query().filter(|q| q.contains("%00")) {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        if let Some((name, _)) = pairs
            .iter()
            .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        {
            let name = name.replace('\0', "\\u0000");
            return ApiError::invalid_field(&name, NUL_MESSAGE).into_response();
        }
    }
    next(req).await
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        chalk_sdk::model::ErrorCode::UnsupportedMediaType,
        "Request body must be sent with Content-Type: application/json",
    )
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(&req) {
            return Err(unsupported_media_type());
        }
        let bytes = read_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid_request(
                "Request body is empty; a JSON object is required",
            ));
        }
        Ok(JsonBody(parse_json(&bytes)?))
    }
}

impl<S: Send + Sync> FromRequest<S> for OptionalJsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = is_json_content_type(&req);
        let bytes = read_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(None));
        }
        if !json {
            return Err(unsupported_media_type());
        }
        Ok(OptionalJsonBody(Some(parse_json(&bytes)?)))
    }
}

/// JSON (and JSON Schema, hence the OpenAPI document) counts `30.0` as the integer 30;
/// serde's integers do not. Whole-valued floats become integers so both agree.
fn integral_numbers(value: Value) -> Value {
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => {
                Value::from(f as i64)
            }
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(integral_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, integral_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

/// A query string typed into `T`; failures are 400 `INVALID_REQUEST`.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(ApiQuery)
            .map_err(|e| ApiError::invalid_request(format!("Invalid query string: {e}")))
    }
}

/// `ETag` of a tenant and of its config: its revision, which every write bumps.
pub fn etag(revision: i64) -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_str(&format!("\"{revision}\""))
        .expect("a number is a valid header")
}

/// The revision an `If-Match` header names: `None` when absent or `*`.
/// A value that names no revision can never match: 412.
pub fn if_match(headers: &axum::http::HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(axum::http::header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::precondition_failed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_string_with_a_nul_is_named_by_its_path() {
        let err = refuse_nul_in_json(&json!({
            "name": "a\u{0}b",
            "ok": "fine",
            "config": {"transcription_keywords": ["x", "y", "\u{0}"], "n": 5},
            "k\u{0}": 1
        }))
        .unwrap_err();
        assert_eq!(err.code, chalk_sdk::model::ErrorCode::ValidationError);
        let mut fields: Vec<&str> = err.details.iter().map(|d| d.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            ["config.transcription_keywords[2]", "k\\u0000", "name"]
        );
        refuse_nul_in_json(&json!({"name": "no nul", "list": ["a", 1, null]})).unwrap();
    }
}
