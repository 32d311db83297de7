//! A string that never prints itself.
//!
//! API keys, tokens and master keys travel through the SDK (and the server) inside
//! [`SecretString`], whose `Debug` and `Display` print a fixed placeholder so that a
//! `{:?}` in a log line or a panic message cannot leak a credential.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A secret value: serialized as the plain string on the wire, redacted everywhere else.
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    ///
    /// ```
    /// let key = chalk_sdk::SecretString::new("sk_live_...");
    /// assert_eq!(format!("{key:?}"), "SecretString(\"[redacted]\")");
    /// ```
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call this only where the value must leave the process
    /// (an HTTP header, a keyring, the one time a new key is shown to its owner).
    ///
    /// ```
    /// let key = chalk_sdk::SecretString::from("sk_live_abc");
    /// assert_eq!(key.expose(), "sk_live_abc");
    /// ```
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Consumes the wrapper and returns the secret.
    ///
    /// ```
    /// let key = chalk_sdk::SecretString::from("sk_live_abc");
    /// let plain: String = key.into_inner();
    /// assert_eq!(plain, "sk_live_abc");
    /// ```
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(\"[redacted]\")")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for SecretString {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        String::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for SecretString {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = SecretString::new("sk_live_abcdefghijklmnopqrstuvwxyz012345");
        assert!(!format!("{s:?}").contains("sk_live"));
        assert_eq!(s.expose(), "sk_live_abcdefghijklmnopqrstuvwxyz012345");
    }

    #[test]
    fn serializes_as_plain_string() {
        let s = SecretString::new("abc");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"abc\"");
        let back: SecretString = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(back, s);
    }
}
