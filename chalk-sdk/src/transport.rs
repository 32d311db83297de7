//! The HTTP under every call: URLs, headers, retries, and a response read into a [`Raw`]
//! body or an [`Error`].
//!
//! It holds no credential: whoever sends names the header to carry. That lets token mode
//! make its own unauthenticated `/auth` calls through it from below, while the client,
//! which owns the credential, sits on top of both.

use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Request, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::model::{Data, RefreshRequest, TokenPair, TokenRequest};
use crate::retry::RetryPolicy;
use crate::secret::SecretString;

const REQUEST_ID: &str = "x-request-id";

/// Where requests go and how each attempt is made; shared by every call of one client.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: Url,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Duration,
    pub(crate) user_agent: HeaderValue,
}

/// A successful response, body read.
pub(crate) struct Raw {
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    /// The whole body as `T`; a mismatch names the JSON path that failed.
    pub(crate) fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        let mut de = serde_json::Deserializer::from_slice(&self.body);
        let value: T =
            serde_path_to_error::deserialize(&mut de).map_err(|e| Error::decode(e, &self.body))?;
        de.end().map_err(|e| Error::Decode {
            path: ".".into(),
            message: e.to_string(),
            body: String::from_utf8_lossy(&self.body).into_owned(),
        })?;
        Ok(value)
    }

    /// The body as text (lossy UTF-8), for the endpoints that do not answer JSON.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `data` of a `{"data": ...}` body.
    pub(crate) fn data<T: DeserializeOwned>(&self) -> Result<T> {
        Ok(self.decode::<Data<T>>()?.data)
    }

    /// The `ETag` header, as sent (quotes included), for `If-Match`.
    pub(crate) fn etag(&self) -> Result<String> {
        self.headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| Error::Decode {
                path: "<ETag header>".into(),
                message: "the response has no ETag header".into(),
                body: String::from_utf8_lossy(&self.body).into_owned(),
            })
    }
}

impl Transport {
    pub(crate) fn url_under(&self, prefix: &[&str], segments: &[&str]) -> Result<Url> {
        let mut url = self.base_url.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| Error::Config("the base URL cannot take a path".into()))?;
            path.pop_if_empty().extend(prefix);
            for segment in segments {
                if segment.is_empty() {
                    return Err(Error::Config("an id in the request path is empty".into()));
                }
                path.push(segment);
            }
        }
        Ok(url)
    }

    fn prepare(&self, method: Method, segments: &[&str]) -> Result<reqwest::RequestBuilder> {
        self.prepare_under(&["api", "v1"], method, segments)
    }

    pub(crate) fn prepare_under(
        &self,
        prefix: &[&str],
        method: Method,
        segments: &[&str],
    ) -> Result<reqwest::RequestBuilder> {
        Ok(self
            .http
            .request(method, self.url_under(prefix, segments)?)
            .timeout(self.timeout)
            .header(header::USER_AGENT, self.user_agent.clone())
            .header(header::ACCEPT, "application/json"))
    }

    /// Sends with the given credential header (none for the `/auth` calls), retrying safe
    /// requests on retryable failures, and reads the whole body.
    pub(crate) async fn send(
        &self,
        request: &Request,
        credential: Option<(&HeaderName, &HeaderValue)>,
        safe: bool,
    ) -> Result<Raw> {
        self.retrying(request, credential, safe, read_response)
            .await
    }

    /// As [`send`](Self::send), but hands back a successful response with its body unread,
    /// for a body read as it arrives (the usage export). Only getting the response is
    /// retried: once its body is being read, a failure is the reader's to report.
    pub(crate) async fn open(
        &self,
        request: &Request,
        credential: Option<(&HeaderName, &HeaderValue)>,
        safe: bool,
    ) -> Result<reqwest::Response> {
        self.retrying(request, credential, safe, successful).await
    }

    /// One attempt after another until `finish` (what is made of a response) succeeds, the
    /// failure is not retryable, the request is not safe to repeat, or the retries are spent.
    async fn retrying<T, F, Fut>(
        &self,
        request: &Request,
        credential: Option<(&HeaderName, &HeaderValue)>,
        safe: bool,
        finish: F,
    ) -> Result<T>
    where
        F: Fn(reqwest::Response) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut attempt = 0;
        loop {
            let mut attempt_request = request
                .try_clone()
                .ok_or_else(|| Error::Config("the request body cannot be sent twice".into()))?;
            if let Some((name, value)) = credential {
                attempt_request
                    .headers_mut()
                    .insert(name.clone(), value.clone());
            }
            let outcome = match self.http.execute(attempt_request).await {
                Ok(response) => finish(response).await,
                Err(e) => Err(Error::from_reqwest(e)),
            };
            match outcome {
                Err(e) if safe && e.is_retryable() && attempt < self.retry.max_retries => {
                    tokio::time::sleep(self.retry.delay(attempt, e.retry_after())).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// `POST /auth/token`, without credential header or retries.
    pub(crate) async fn exchange_api_key(&self, api_key: &SecretString) -> Result<TokenPair> {
        let body = TokenRequest {
            api_key: api_key.clone(),
        };
        let request = json_body(self.prepare(Method::POST, &["auth", "token"])?, &body)?
            .build()
            .map_err(|e| Error::Config(format!("could not build the request: {e}")))?;
        self.send(&request, None, false).await?.data()
    }

    /// `POST /auth/refresh`, without credential header or retries (a refresh token works once).
    pub(crate) async fn refresh_tokens(&self, refresh_token: &SecretString) -> Result<TokenPair> {
        let body = RefreshRequest {
            refresh_token: refresh_token.clone(),
        };
        let request = json_body(self.prepare(Method::POST, &["auth", "refresh"])?, &body)?
            .build()
            .map_err(|e| Error::Config(format!("could not build the request: {e}")))?;
        self.send(&request, None, false).await?.data()
    }
}

async fn read_response(response: reqwest::Response) -> Result<Raw> {
    let response = successful(response).await?;
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(Error::from_reqwest)?
        .to_vec();
    Ok(Raw { headers, body })
}

/// The response if its status is 2xx; otherwise its body read into the [`Error`] it
/// stands for.
async fn successful(response: reqwest::Response) -> Result<reqwest::Response> {
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(response);
    }
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(Error::from_reqwest)?;
    let request_id = headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let retry_after = headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    Err(Error::from_response(status, request_id, retry_after, &body))
}

pub(crate) fn json_body<B: Serialize + ?Sized>(
    builder: reqwest::RequestBuilder,
    body: &B,
) -> Result<reqwest::RequestBuilder> {
    let bytes = serde_json::to_vec(body)
        .map_err(|e| Error::Config(format!("could not serialize the request body: {e}")))?;
    Ok(builder
        .header(header::CONTENT_TYPE, "application/json")
        .body(bytes))
}

pub(crate) fn secret_header(secret: &str, what: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(secret).map_err(|_| {
        Error::Config(format!(
            "the {what} contains characters that cannot be sent in a header"
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

pub(crate) fn bearer(token: &SecretString) -> Result<HeaderValue> {
    secret_header(&format!("Bearer {}", token.expose()), "access token")
}
