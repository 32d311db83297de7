//! [`Client`] and [`ClientBuilder`]: configuration, credentials and the one place every
//! request goes through (headers, retries, token refresh, error mapping).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Request, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::SecretString;
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::model::{Data, ErrorCode, RefreshRequest, TokenPair, TokenRequest};
use crate::ops::Ops;
use crate::retry::RetryPolicy;
use crate::tenants::Tenants;
use crate::token_mode::TokenManager;

/// Where the client points when no base URL is given.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";
/// How long one attempt of a request may take when no timeout is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

const IDEMPOTENCY_KEY: &str = "idempotency-key";
const MASTER_KEY: &str = "x-master-key";
const API_KEY: &str = "x-api-key";
const REQUEST_ID: &str = "x-request-id";

/// A client of the Chalk tenant API.
///
/// Cheap to clone (an [`Arc`] inside) and safe to share between tasks. Its `Debug`
/// shows which kind of credential it holds, never the credential.
///
/// Resources hang off it as borrowed handlers: [`Client::tenants`], then
/// [`Tenants::config`](crate::Tenants::config) and
/// [`Tenants::api_keys`](crate::Tenants::api_keys), and [`Client::auth`].
///
/// ```no_run
/// use chalk_sdk::{Client, model::CreateTenantRequest};
/// # async fn run() -> chalk_sdk::Result<()> {
/// let client = Client::builder()
///     .base_url("https://chalk.example.com")
///     .master_key("mk_from_the_operator")
///     .build()?;
/// let created = client.tenants().create(&CreateTenantRequest::new("Acme")).await?;
/// println!("{} {}", created.tenant.id, created.api_key.expose());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    http: reqwest::Client,
    base_url: Url,
    credential: Credential,
    retry: RetryPolicy,
    timeout: Duration,
    user_agent: HeaderValue,
}

/// The credential every authenticated request carries.
enum Credential {
    /// No credential (open registration, or only `auth()` calls).
    None,
    /// A master key or API key, sent as is in its header.
    Header {
        kind: &'static str,
        name: HeaderName,
        value: HeaderValue,
    },
    /// Bearer access tokens, renewed by the manager.
    Tokens(TokenManager),
}

impl Credential {
    fn describe(&self) -> &'static str {
        match self {
            Credential::None => "none",
            Credential::Header { kind, .. } => kind,
            Credential::Tokens(manager) if manager.has_api_key() => "api key (token mode)",
            Credential::Tokens(_) => "tokens",
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("credential", &self.inner.credential.describe())
            .field("timeout", &self.inner.timeout)
            .field("retry_policy", &self.inner.retry)
            .field("user_agent", &self.inner.user_agent)
            .finish()
    }
}

impl Client {
    /// Starts configuring a client.
    ///
    /// ```no_run
    /// # fn run() -> chalk_sdk::Result<()> {
    /// let client = chalk_sdk::Client::builder()
    ///     .base_url("http://127.0.0.1:8080")
    ///     .api_key("sk_live_...")
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: `CHALK_API_URL` (default
    /// `http://127.0.0.1:8080`) and at most one of `CHALK_API_KEY` and `CHALK_MASTER_KEY`
    /// (none is fine for open registration and `auth()` calls). Empty variables count as unset.
    ///
    /// ```no_run
    /// # async fn run() -> chalk_sdk::Result<()> {
    /// let client = chalk_sdk::Client::from_env()?;
    /// let me = client.tenants().current().await?;
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Result<Client> {
        ClientBuilder::from_env()?.build()
    }

    /// The base URL requests go to (`/api/v1/...` is appended).
    ///
    /// ```no_run
    /// # fn run() -> chalk_sdk::Result<()> {
    /// let client = chalk_sdk::Client::builder().build()?;
    /// assert_eq!(client.base_url(), "http://127.0.0.1:8080/");
    /// # Ok(()) }
    /// ```
    pub fn base_url(&self) -> &str {
        self.inner.base_url.as_str()
    }

    /// Tenants: create, list, get, update, delete, rotate keys, suspend, resume; and,
    /// through [`Tenants::config`] and [`Tenants::api_keys`], a tenant's config and keys.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let tenant = client.tenants().get("tenant_abc123").await?;
    /// # Ok(()) }
    /// ```
    pub fn tenants(&self) -> Tenants<'_> {
        Tenants::new(self)
    }

    /// Liveness, readiness, metrics and the OpenAPI document, for probes and dashboards.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let ready = client.ops().ready().await?;
    /// # Ok(()) }
    /// ```
    pub fn ops(&self) -> Ops<'_> {
        Ops::new(self)
    }

    /// Token exchange, refresh and revocation (`/auth/...`). These calls carry their
    /// credential in the body and send no credential header.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let pair = client.auth().token("sk_live_...").await?;
    /// # Ok(()) }
    /// ```
    pub fn auth(&self) -> Auth<'_> {
        Auth::new(self)
    }

    /// Rooms (create, list, get, end) and, through [`Rooms::participants`], a room's
    /// participants and their tokens.
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let room = client.rooms().get("room_cs101").await?;
    /// # Ok(()) }
    /// ```
    pub fn rooms(&self) -> crate::Rooms<'_> {
        crate::Rooms::new(self)
    }

    /// The server's token signing keys: list and rotate them (master key), or read the
    /// public JWKS. To verify tokens offline, see [`Verifier`](crate::tokens::Verifier).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let rotated = client.signing_keys().rotate().await?;
    /// # Ok(()) }
    /// ```
    pub fn signing_keys(&self) -> crate::SigningKeys<'_> {
        crate::SigningKeys::new(self)
    }

    /// Operator keys (master key or an operator key).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let keys = client.operator_keys().list(&Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub fn operator_keys(&self) -> crate::OperatorKeys<'_> {
        crate::OperatorKeys::new(self)
    }

    /// The audit log (master or operator key; a tenant's own with `tenant:admin`).
    ///
    /// ```no_run
    /// # async fn run(client: chalk_sdk::Client) -> chalk_sdk::Result<()> {
    /// let page = client.audit().list(&Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub fn audit(&self) -> crate::Audit<'_> {
        crate::Audit::new(self)
    }

    /// A request to `/api/v1/{segments...}`; each segment is percent-encoded.
    pub(crate) fn call(&self, method: Method, segments: &[&str]) -> Call<'_> {
        self.call_under(&["api", "v1"], method, segments)
    }

    /// A request to `/{prefix...}/{segments...}` (the operations endpoints live outside
    /// `/api/v1`).
    pub(crate) fn call_under(
        &self,
        prefix: &[&str],
        method: Method,
        segments: &[&str],
    ) -> Call<'_> {
        let safe = method == Method::GET;
        Call {
            inner: &self.inner,
            builder: self.inner.prepare_under(prefix, method, segments),
            safe,
            authenticated: true,
        }
    }
}

/// Configures a [`Client`]. Give at most one credential.
///
/// ```no_run
/// use std::time::Duration;
/// # fn run() -> chalk_sdk::Result<()> {
/// let client = chalk_sdk::Client::builder()
///     .base_url("https://chalk.example.com")
///     .api_key("sk_live_...")
///     .token_mode(true)
///     .timeout(Duration::from_secs(10))
///     .user_agent("provisioner/1.0")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    master_key: Option<SecretString>,
    api_key: Option<SecretString>,
    tokens: Option<(SecretString, SecretString)>,
    token_mode: bool,
    timeout: Duration,
    retry: RetryPolicy,
    user_agent: Option<String>,
    http: Option<reqwest::Client>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            master_key: None,
            api_key: None,
            tokens: None,
            token_mode: false,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            user_agent: None,
            http: None,
        }
    }
}

impl ClientBuilder {
    /// A builder preset from the environment (see [`Client::from_env`]); adjust it further
    /// before [`build`](Self::build).
    ///
    /// ```no_run
    /// # fn run() -> chalk_sdk::Result<()> {
    /// let client = chalk_sdk::ClientBuilder::from_env()?.token_mode(true).build()?;
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Result<ClientBuilder> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ClientBuilder> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut builder = ClientBuilder::default();
        if let Some(url) = get("CHALK_API_URL") {
            builder = builder.base_url(url.trim());
        }
        match (get("CHALK_API_KEY"), get("CHALK_MASTER_KEY")) {
            (Some(_), Some(_)) => {
                return Err(Error::Config(
                    "both CHALK_API_KEY and CHALK_MASTER_KEY are set; set exactly one".into(),
                ));
            }
            (Some(key), None) => builder = builder.api_key(key),
            (None, Some(key)) => builder = builder.master_key(key),
            (None, None) => {}
        }
        Ok(builder)
    }

    /// Where the server is, e.g. `https://chalk.example.com` (default
    /// `http://127.0.0.1:8080`). The SDK appends `/api/v1/...`; a URL that already ends in
    /// `/api/v1` is accepted too. A path prefix (behind a proxy) is kept.
    ///
    /// ```no_run
    /// # fn run() -> chalk_sdk::Result<()> {
    /// let client = chalk_sdk::Client::builder().base_url("https://chalk.example.com").build()?;
    /// # Ok(()) }
    /// ```
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Authenticate as the operator, with `X-Master-Key`.
    ///
    /// ```no_run
    /// # fn run() -> chalk_sdk::Result<()> {
    /// let client = chalk_sdk::Client::builder().master_key("mk_...").build()?;
    /// # Ok(()) }
    /// ```
    pub fn master_key(mut self, key: impl Into<SecretString>) -> Self {
        self.master_key = Some(key.into());
        self
    }

    /// Authenticate as a tenant, with `X-API-Key` (or, with [`token_mode`](Self::token_mode),
    /// with tokens minted from this key).
    ///
    /// ```no_run
    /// # fn run() -> chalk_sdk::Result<()> {
    /// let client = chalk_sdk::Client::builder().api_key("sk_live_...").build()?;
    /// # Ok(()) }
    /// ```
    pub fn api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Authenticate with an access token (`Authorization: Bearer`) obtained earlier. On a
    /// 401 `TOKEN_EXPIRED` the client trades `refresh_token` for a new pair and retries once.
    ///
    /// ```no_run
    /// # fn run(access: String, refresh: String) -> chalk_sdk::Result<()> {
    /// let client = chalk_sdk::Client::builder().tokens(access, refresh).build()?;
    /// # Ok(()) }
    /// ```
    pub fn tokens(
        mut self,
        access_token: impl Into<SecretString>,
        refresh_token: impl Into<SecretString>,
    ) -> Self {
        self.tokens = Some((access_token.into(), refresh_token.into()));
        self
    }

    /// With an [`api_key`](Self::api_key): exchange it for tokens on first use and send
    /// `Authorization: Bearer` instead of the key. The client refreshes the access token
    /// shortly before it expires and once on `TOKEN_EXPIRED`, one refresh at a time however
    /// many tasks share it; if the refresh token is refused it exchanges the key again.
    ///
    /// ```no_run
    /// # fn run() -> chalk_sdk::Result<()> {
    /// let client = chalk_sdk::Client::builder()
    ///     .api_key("sk_live_...")
    ///     .token_mode(true)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn token_mode(mut self, enabled: bool) -> Self {
        self.token_mode = enabled;
        self
    }

    /// How long one attempt may take, from connecting to the last byte of the body
    /// (default 30 s). Retries each get this much again.
    ///
    /// ```no_run
    /// # fn run() -> chalk_sdk::Result<()> {
    /// let client = chalk_sdk::Client::builder()
    ///     .timeout(std::time::Duration::from_secs(5))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// When and how often to retry safe requests (default: 3 retries).
    ///
    /// ```no_run
    /// # fn run() -> chalk_sdk::Result<()> {
    /// let client = chalk_sdk::Client::builder()
    ///     .retry_policy(chalk_sdk::RetryPolicy::none())
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The `User-Agent` header (default `chalk-sdk/<version>`).
    ///
    /// ```no_run
    /// # fn run() -> chalk_sdk::Result<()> {
    /// let client = chalk_sdk::Client::builder().user_agent("my-app/2.1").build()?;
    /// # Ok(()) }
    /// ```
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Use this `reqwest::Client` (proxies, custom TLS roots, connection pool settings).
    /// The builder's timeout and user agent are still applied to each request.
    ///
    /// ```no_run
    /// # fn run() -> chalk_sdk::Result<()> {
    /// let http = reqwest::Client::builder().pool_max_idle_per_host(4).build().unwrap();
    /// let client = chalk_sdk::Client::builder().http_client(http).build()?;
    /// # Ok(()) }
    /// ```
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks the settings and builds the client. Fails with [`Error::Config`] on a base
    /// URL that is not `http(s)://`, more than one credential, token mode without an API
    /// key, or a credential or user agent that cannot be sent in a header.
    ///
    /// ```no_run
    /// # fn run() -> chalk_sdk::Result<()> {
    /// let client = chalk_sdk::Client::builder().master_key("mk_...").build()?;
    /// # Ok(()) }
    /// ```
    pub fn build(self) -> Result<Client> {
        let base_url = parse_base_url(&self.base_url)?;

        let given: Vec<&str> = [
            self.master_key.as_ref().map(|_| "master_key"),
            self.api_key.as_ref().map(|_| "api_key"),
            self.tokens.as_ref().map(|_| "tokens"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if given.len() > 1 {
            return Err(Error::Config(format!(
                "more than one credential given ({}); give exactly one",
                given.join(", ")
            )));
        }
        if self.token_mode && self.api_key.is_none() {
            return Err(Error::Config(
                "token mode needs an API key (ClientBuilder::api_key)".into(),
            ));
        }

        let credential = if let Some(key) = self.master_key {
            Credential::Header {
                kind: "master key",
                name: HeaderName::from_static(MASTER_KEY),
                value: secret_header(key.expose(), "master key")?,
            }
        } else if let Some(key) = self.api_key {
            if self.token_mode {
                secret_header(key.expose(), "API key")?;
                Credential::Tokens(TokenManager::from_api_key(key))
            } else {
                Credential::Header {
                    kind: "api key",
                    name: HeaderName::from_static(API_KEY),
                    value: secret_header(key.expose(), "API key")?,
                }
            }
        } else if let Some((access, refresh)) = self.tokens {
            bearer(&access)?;
            Credential::Tokens(TokenManager::from_tokens(access, refresh))
        } else {
            Credential::None
        };

        let user_agent = self
            .user_agent
            .unwrap_or_else(|| concat!("chalk-sdk/", env!("CARGO_PKG_VERSION")).to_owned());
        let user_agent = HeaderValue::from_str(&user_agent)
            .map_err(|_| Error::Config(format!("invalid user agent `{user_agent}`")))?;

        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .build()
                .map_err(Error::Transport)?,
        };

        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                credential,
                retry: self.retry,
                timeout: self.timeout,
                user_agent,
            }),
        })
    }
}

fn parse_base_url(text: &str) -> Result<Url> {
    let mut url = Url::parse(text.trim())
        .map_err(|e| Error::Config(format!("invalid base URL `{text}`: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::Config(format!(
            "invalid base URL `{text}`: expected http:// or https://"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "invalid base URL `{text}`: no query or fragment allowed"
        )));
    }
    let trimmed = url.path().trim_end_matches('/');
    if let Some(prefix) = trimmed.strip_suffix("/api/v1") {
        let prefix = format!("{prefix}/");
        url.set_path(&prefix);
    }
    Ok(url)
}

fn secret_header(secret: &str, what: &str) -> Result<HeaderValue> {
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

/// A new idempotency key: 32 random base62 characters.
pub(crate) fn new_idempotency_key() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

fn check_idempotency_key(key: &str) -> Result<()> {
    if (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Ok(())
    } else {
        Err(Error::Config(
            "an idempotency key must be 1..=255 printable ASCII characters".into(),
        ))
    }
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

/// One API call being put together by a resource handler.
pub(crate) struct Call<'c> {
    inner: &'c Inner,
    builder: Result<reqwest::RequestBuilder>,
    safe: bool,
    authenticated: bool,
}

impl Call<'_> {
    pub(crate) fn query<Q: Serialize + ?Sized>(mut self, query: &Q) -> Self {
        self.builder = self.builder.map(|b| b.query(query));
        self
    }

    pub(crate) fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Self {
        self.builder = self.builder.and_then(|b| json_body(b, body));
        self
    }

    /// Sends `Idempotency-Key` (the caller's, or a fresh one), which makes the call safe
    /// to retry: every attempt carries the same key.
    pub(crate) fn idempotency_key(mut self, key: Option<String>) -> Self {
        let key = key.unwrap_or_else(new_idempotency_key);
        self.builder = self.builder.and_then(|b| {
            check_idempotency_key(&key)?;
            Ok(b.header(IDEMPOTENCY_KEY, key))
        });
        self.safe = true;
        self
    }

    pub(crate) fn if_match(mut self, etag: &str) -> Self {
        self.builder = self.builder.and_then(|b| {
            let value = HeaderValue::from_str(etag)
                .map_err(|_| Error::Config(format!("invalid ETag `{etag}`")))?;
            Ok(b.header(header::IF_MATCH, value))
        });
        self
    }

    /// Sends no credential header (the `/auth` endpoints carry theirs in the body).
    pub(crate) fn unauthenticated(mut self) -> Self {
        self.authenticated = false;
        self
    }

    pub(crate) async fn send(self) -> Result<Raw> {
        let request = self
            .builder?
            .build()
            .map_err(|e| Error::Config(format!("could not build the request: {e}")))?;
        self.inner
            .send(request, self.safe, self.authenticated)
            .await
    }

    /// Sends and returns the `data` of the response.
    pub(crate) async fn data<T: DeserializeOwned>(self) -> Result<T> {
        self.send().await?.data()
    }

    /// Sends and returns the `data` of the response with its `ETag`.
    pub(crate) async fn data_with_etag<T: DeserializeOwned>(self) -> Result<(T, String)> {
        let raw = self.send().await?;
        let etag = raw.etag()?;
        Ok((raw.data()?, etag))
    }
}

fn json_body<B: Serialize + ?Sized>(
    builder: reqwest::RequestBuilder,
    body: &B,
) -> Result<reqwest::RequestBuilder> {
    let bytes = serde_json::to_vec(body)
        .map_err(|e| Error::Config(format!("could not serialize the request body: {e}")))?;
    Ok(builder
        .header(header::CONTENT_TYPE, "application/json")
        .body(bytes))
}

impl Inner {
    fn url_under(&self, prefix: &[&str], segments: &[&str]) -> Result<Url> {
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

    fn prepare_under(
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

    /// Sends with the client's credential (if `authenticated`), renewing tokens as needed.
    async fn send(&self, request: Request, safe: bool, authenticated: bool) -> Result<Raw> {
        let credential = if authenticated {
            &self.credential
        } else {
            &Credential::None
        };
        match credential {
            Credential::None => self.send_plain(&request, None, safe).await,
            Credential::Header { name, value, .. } => {
                self.send_plain(&request, Some((name, value)), safe).await
            }
            Credential::Tokens(manager) => {
                let authorization = HeaderName::from_static("authorization");
                let token = manager.access_token(self).await?;
                let result = self
                    .send_plain(&request, Some((&authorization, &bearer(&token)?)), safe)
                    .await;
                match result {
                    // Refused before anything happened: renew once and send again.
                    Err(e) if e.code() == Some(&ErrorCode::TokenExpired) => {
                        let token = manager.renew_expired(self, &token).await?;
                        self.send_plain(&request, Some((&authorization, &bearer(&token)?)), safe)
                            .await
                    }
                    other => other,
                }
            }
        }
    }

    /// Sends with the given credential header, retrying safe requests on retryable failures.
    async fn send_plain(
        &self,
        request: &Request,
        credential: Option<(&HeaderName, &HeaderValue)>,
        safe: bool,
    ) -> Result<Raw> {
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
                Ok(response) => read_response(response).await,
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
        self.send_plain(&request, None, false).await?.data()
    }

    /// `POST /auth/refresh`, without credential header or retries (a refresh token works once).
    pub(crate) async fn refresh_tokens(&self, refresh_token: &SecretString) -> Result<TokenPair> {
        let body = RefreshRequest {
            refresh_token: refresh_token.clone(),
        };
        let request = json_body(self.prepare(Method::POST, &["auth", "refresh"])?, &body)?
            .build()
            .map_err(|e| Error::Config(format!("could not build the request: {e}")))?;
        self.send_plain(&request, None, false).await?.data()
    }
}

async fn read_response(response: reqwest::Response) -> Result<Raw> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(Error::from_reqwest)?
        .to_vec();
    if (200..300).contains(&status) {
        return Ok(Raw { headers, body });
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<ClientBuilder> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ClientBuilder::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn env_reads_url_and_one_credential() {
        let client = from(&[
            ("CHALK_API_URL", "https://chalk.example.com"),
            ("CHALK_API_KEY", "sk_live_abc"),
        ])
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(client.base_url(), "https://chalk.example.com/");
        assert_eq!(client.inner.credential.describe(), "api key");

        let client = from(&[("CHALK_MASTER_KEY", "mk"), ("CHALK_API_KEY", "")])
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:8080/");
        assert_eq!(client.inner.credential.describe(), "master key");

        let client = from(&[]).unwrap().build().unwrap();
        assert_eq!(client.inner.credential.describe(), "none");
    }

    #[test]
    fn env_with_two_credentials_is_refused() {
        let err =
            from(&[("CHALK_MASTER_KEY", "mk"), ("CHALK_API_KEY", "sk_live_abc")]).unwrap_err();
        assert!(matches!(err, Error::Config(_)));
        assert!(err.to_string().contains("exactly one"), "{err}");
    }

    #[test]
    fn base_urls_are_normalised() {
        let url = |text: &str| parse_base_url(text).map(|u| u.to_string());
        assert_eq!(url("http://h:1").unwrap(), "http://h:1/");
        assert_eq!(url("http://h:1/api/v1/").unwrap(), "http://h:1/");
        assert_eq!(url("http://h/chalk/api/v1").unwrap(), "http://h/chalk/");
        assert!(url("ftp://h").is_err());
        assert!(url("not a url").is_err());
        assert!(url("http://h/?x=1").is_err());
    }

    #[test]
    fn paths_are_appended_and_encoded() {
        let client = Client::builder()
            .base_url("http://h/prefix/")
            .build()
            .unwrap();
        let url = client
            .inner
            .url_under(&["api", "v1"], &["tenants", "a/b?c"])
            .unwrap();
        assert_eq!(url.as_str(), "http://h/prefix/api/v1/tenants/a%2Fb%3Fc");
        assert!(
            client
                .inner
                .url_under(&["api", "v1"], &["tenants", ""])
                .is_err()
        );
    }

    #[test]
    fn idempotency_keys_are_base62_and_checked() {
        let a = new_idempotency_key();
        let b = new_idempotency_key();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        assert!(check_idempotency_key(&a).is_ok());
        assert!(check_idempotency_key("").is_err());
        assert!(check_idempotency_key("tab\there").is_err());
        assert!(check_idempotency_key(&"x".repeat(256)).is_err());
    }
}
