//! Token mode: access tokens obtained and renewed by the client itself.
//!
//! One [`tokio::sync::Mutex`] guards the current pair. Whoever finds the token missing,
//! due or expired renews it while holding the lock; everyone else waits for that one
//! renewal and then uses its result, so N concurrent requests cause one refresh, not N.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::model::{ErrorCode, TokenPair};
use crate::secret::SecretString;
use crate::transport::Transport;

/// Renew at most this long before the access token expires.
const MAX_MARGIN: Duration = Duration::from_secs(60);

pub(crate) struct TokenManager {
    /// The key to exchange (again) for tokens; `None` when the caller gave tokens.
    api_key: Option<SecretString>,
    current: Mutex<Option<Current>>,
}

struct Current {
    access: SecretString,
    refresh: SecretString,
    /// When to renew before use; `None` when the lifetime is unknown (tokens given by the
    /// caller), which leaves renewal to `TOKEN_EXPIRED`.
    renew_at: Option<Instant>,
}

impl Current {
    fn from_pair(pair: TokenPair, received: Instant) -> Self {
        let lifetime = Duration::from_secs(pair.expires_in.max(0).unsigned_abs());
        // A tenth of the lifetime, at most a minute: 60 s early for the default hour.
        let margin = (lifetime / 10).min(MAX_MARGIN);
        Self {
            access: pair.access_token,
            refresh: pair.refresh_token,
            renew_at: Some(received + lifetime - margin),
        }
    }

    fn is_due(&self, now: Instant) -> bool {
        self.renew_at.is_some_and(|at| now >= at)
    }
}

impl TokenManager {
    pub(crate) fn from_api_key(api_key: SecretString) -> Self {
        Self {
            api_key: Some(api_key),
            current: Mutex::new(None),
        }
    }

    pub(crate) fn from_tokens(access: SecretString, refresh: SecretString) -> Self {
        Self {
            api_key: None,
            current: Mutex::new(Some(Current {
                access,
                refresh,
                renew_at: None,
            })),
        }
    }

    pub(crate) fn has_api_key(&self) -> bool {
        self.api_key.is_some()
    }

    /// The access token to send: the current one, or a renewed one when there is none
    /// yet or it is about to expire.
    pub(crate) async fn access_token(&self, transport: &Transport) -> Result<SecretString> {
        let mut current = self.current.lock().await;
        let now = Instant::now();
        if let Some(tokens) = current.as_ref().filter(|t| !t.is_due(now)) {
            return Ok(tokens.access.clone());
        }
        let renewed = self.renew(transport, current.as_ref()).await?;
        let access = renewed.access.clone();
        *current = Some(renewed);
        Ok(access)
    }

    /// `stale` was refused with `TOKEN_EXPIRED`: renew, unless another task already did
    /// while this one waited for the lock.
    pub(crate) async fn renew_expired(
        &self,
        transport: &Transport,
        stale: &SecretString,
    ) -> Result<SecretString> {
        let mut current = self.current.lock().await;
        if let Some(tokens) = current.as_ref().filter(|t| t.access != *stale) {
            return Ok(tokens.access.clone());
        }
        let renewed = self.renew(transport, current.as_ref()).await?;
        let access = renewed.access.clone();
        *current = Some(renewed);
        Ok(access)
    }

    /// Refresh when there is a refresh token; exchange the API key when there is none, or
    /// when the refresh token is refused (`INVALID_REFRESH_TOKEN`: used, expired, revoked).
    async fn renew(&self, transport: &Transport, current: Option<&Current>) -> Result<Current> {
        if let Some(tokens) = current {
            match transport.refresh_tokens(&tokens.refresh).await {
                Ok(pair) => return Ok(Current::from_pair(pair, Instant::now())),
                Err(e)
                    if self.api_key.is_some()
                        && e.code() == Some(&ErrorCode::InvalidRefreshToken) => {}
                Err(e) => return Err(e),
            }
        }
        let api_key = self
            .api_key
            .as_ref()
            .ok_or_else(|| Error::Config("no tokens and no API key to obtain them with".into()))?;
        let pair = transport.exchange_api_key(api_key).await?;
        Ok(Current::from_pair(pair, Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(expires_in: i64) -> TokenPair {
        TokenPair {
            access_token: "a".into(),
            refresh_token: "r".into(),
            token_type: "Bearer".into(),
            expires_in,
        }
    }

    #[test]
    fn renewal_is_due_shortly_before_expiry() {
        let t0 = Instant::now();
        let hour = Current::from_pair(pair(3600), t0);
        assert!(!hour.is_due(t0 + Duration::from_secs(3539)));
        assert!(hour.is_due(t0 + Duration::from_secs(3540)));

        let short = Current::from_pair(pair(10), t0);
        assert!(!short.is_due(t0 + Duration::from_secs(8)));
        assert!(short.is_due(t0 + Duration::from_secs(9)));

        assert!(Current::from_pair(pair(0), t0).is_due(t0));
        assert!(Current::from_pair(pair(-5), t0).is_due(t0));
    }

    #[test]
    fn given_tokens_are_never_due() {
        let manager = TokenManager::from_tokens("a".into(), "r".into());
        let current = manager.current.try_lock().unwrap();
        assert!(!current.as_ref().unwrap().is_due(Instant::now()));
    }
}
