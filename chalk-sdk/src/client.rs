//! [`Client`] and [`ClientBuilder`]: configuration, the credential, and [`Call`], the one
//! place every request of a resource handler goes through (headers, idempotency keys,
//! token refresh).
//!
//! The HTTP itself (URLs, retries, reading responses) is `transport.rs`, below this module
//! and token mode alike. The resource accessors (`client.tenants()`, ...) are in
//! `resources.rs`, above both this module and the handlers: the handlers hold a `Client`,
//! so this module cannot name them without a circle.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use reqwest::header::{self, HeaderName, HeaderValue};
use reqwest::{Method, Request, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::model::ErrorCode;
use crate::retry::RetryPolicy;
use crate::secret::SecretString;
use crate::token_mode::TokenManager;
use crate::transport::{Raw, Transport, bearer, json_body, secret_header};

/// Where the client points when no base URL is given.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";
/// How long one attempt of a request may take when no timeout is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

const IDEMPOTENCY_KEY: &str = "idempotency-key";
const MASTER_KEY: &str = "x-master-key";
const API_KEY: &str = "x-api-key";

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
    transport: Transport,
    credential: Credential,
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

/// The credential header one attempt carried, and in token mode the token in it (to renew
/// if the server found it expired).
struct Carried {
    header: Option<(HeaderName, HeaderValue)>,
    token: Option<SecretString>,
}

impl Carried {
    fn header(&self) -> Option<(&HeaderName, &HeaderValue)> {
        self.header.as_ref().map(|(name, value)| (name, value))
    }
}

impl Inner {
    /// Sends with the client's credential (if `authenticated`), renewing tokens as needed,
    /// and reads the whole body.
    async fn send(&self, request: Request, safe: bool, authenticated: bool) -> Result<Raw> {
        let carried = self.carried(authenticated).await?;
        match self.transport.send(&request, carried.header(), safe).await {
            Err(e) => match self.renewed(&carried, &e).await? {
                Some(renewed) => self.transport.send(&request, renewed.header(), safe).await,
                None => Err(e),
            },
            ok => ok,
        }
    }

    /// As [`send`](Self::send), with the body left to read as it arrives.
    async fn open(
        &self,
        request: Request,
        safe: bool,
        authenticated: bool,
    ) -> Result<reqwest::Response> {
        let carried = self.carried(authenticated).await?;
        match self.transport.open(&request, carried.header(), safe).await {
            Err(e) => match self.renewed(&carried, &e).await? {
                Some(renewed) => self.transport.open(&request, renewed.header(), safe).await,
                None => Err(e),
            },
            ok => ok,
        }
    }

    /// The credential header to carry (none if not `authenticated`).
    async fn carried(&self, authenticated: bool) -> Result<Carried> {
        let credential = if authenticated {
            &self.credential
        } else {
            &Credential::None
        };
        Ok(match credential {
            Credential::None => Carried {
                header: None,
                token: None,
            },
            Credential::Header { name, value, .. } => Carried {
                header: Some((name.clone(), value.clone())),
                token: None,
            },
            Credential::Tokens(manager) => {
                let token = manager.access_token(&self.transport).await?;
                Carried {
                    header: Some((HeaderName::from_static("authorization"), bearer(&token)?)),
                    token: Some(token),
                }
            }
        })
    }

    /// In token mode, a request refused because its access token expired (refused before
    /// anything happened) is sent once more with a renewed token: the header to carry then.
    async fn renewed(&self, carried: &Carried, error: &Error) -> Result<Option<Carried>> {
        let (Credential::Tokens(manager), Some(token)) = (&self.credential, &carried.token) else {
            return Ok(None);
        };
        if error.code() != Some(&ErrorCode::TokenExpired) {
            return Ok(None);
        }
        let token = manager.renew_expired(&self.transport, token).await?;
        Ok(Some(Carried {
            header: Some((HeaderName::from_static("authorization"), bearer(&token)?)),
            token: Some(token),
        }))
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.transport.base_url.as_str())
            .field("credential", &self.inner.credential.describe())
            .field("timeout", &self.inner.transport.timeout)
            .field("retry_policy", &self.inner.transport.retry)
            .field("user_agent", &self.inner.transport.user_agent)
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
        self.inner.transport.base_url.as_str()
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
            builder: self.inner.transport.prepare_under(prefix, method, segments),
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
                transport: Transport {
                    http,
                    base_url,
                    retry: self.retry,
                    timeout: self.timeout,
                    user_agent,
                },
                credential,
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

    /// Sends and hands back the response with its body unread (see [`Transport::open`]).
    pub(crate) async fn open(self) -> Result<reqwest::Response> {
        let request = self
            .builder?
            .build()
            .map_err(|e| Error::Config(format!("could not build the request: {e}")))?;
        self.inner
            .open(request, self.safe, self.authenticated)
            .await
    }

    /// Sets a request header (e.g. `Accept` for an endpoint that answers other formats).
    pub(crate) fn header(mut self, name: HeaderName, value: &'static str) -> Self {
        self.builder = self
            .builder
            .map(|b| b.header(name, HeaderValue::from_static(value)));
        self
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
            .transport
            .url_under(&["api", "v1"], &["tenants", "a/b?c"])
            .unwrap();
        assert_eq!(url.as_str(), "http://h/prefix/api/v1/tenants/a%2Fb%3Fc");
        assert!(
            client
                .inner
                .transport
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
