//! Fingerprints of write-only secrets: how a client tells whether the secret it holds is
//! the one the server holds, without the server ever returning the secret.
//!
//! A fingerprint is `hmac-sha256:` + base64url(salt) + `:` + base64url(HMAC-SHA256(salt,
//! secret)), the salt 16 random bytes chosen by the server each time the secret is set.
//! The server computes it while it still has the plaintext and keeps it next to the sealed
//! secret; a client recomputes it with the salt from the response and its own copy.
//!
//! Why this is safe to show to anyone who may read the config: recovering the secret from
//! a fingerprint is a search of the secret space, and only secrets with at least 24 random
//! bytes (192 bits: `whsec_` webhook secrets) get one. The random salt defeats precomputed
//! tables and makes the same secret set twice (or by two tenants) fingerprint differently,
//! so fingerprints cannot be correlated. Secrets a person may choose (a provider's API key)
//! get no fingerprint, because a guessable value could be confirmed offline.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SCHEME: &str = "hmac-sha256";

/// The fingerprint of `secret` under `salt`.
///
/// ```
/// use chalk_sdk::model::fingerprint;
/// let fp = fingerprint::compute(b"0123456789abcdef", "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0");
/// assert!(fp.starts_with("hmac-sha256:"));
/// assert!(fingerprint::matches(&fp, "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"));
/// assert!(!fingerprint::matches(&fp, "whsec_b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXI"));
/// ```
pub fn compute(salt: &[u8], secret: &str) -> String {
    format!(
        "{SCHEME}:{}:{}",
        B64URL.encode(salt),
        B64URL.encode(mac(salt, secret))
    )
}

/// Whether `fingerprint` (as the server returned it) is the fingerprint of `secret`.
/// A fingerprint that does not parse matches nothing.
pub fn matches(fingerprint: &str, secret: &str) -> bool {
    let mut parts = fingerprint.split(':');
    let (Some(SCHEME), Some(salt), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(salt), Ok(tag)) = (B64URL.decode(salt), B64URL.decode(tag)) else {
        return false;
    };
    let mut check = Hmac::<Sha256>::new_from_slice(&salt).expect("HMAC takes any key length");
    check.update(secret.as_bytes());
    // Constant time, out of habit: the caller holds both values anyway.
    check.verify_slice(&tag).is_ok()
}

fn mac(salt: &[u8], secret: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(salt).expect("HMAC takes any key length");
    mac.update(secret.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_different_salt_gives_a_different_fingerprint_of_the_same_secret() {
        let a = compute(b"salt-a-salt-a-00", "whsec_same");
        let b = compute(b"salt-b-salt-b-00", "whsec_same");
        assert_ne!(a, b);
        assert!(matches(&a, "whsec_same") && matches(&b, "whsec_same"));
    }

    #[test]
    fn garbage_matches_nothing() {
        for fp in [
            "",
            "hmac-sha256",
            "hmac-sha256:!!:xx",
            "md5:AAAA:AAAA",
            "hmac-sha256:AAAA:AAAA:AAAA",
        ] {
            assert!(!matches(fp, "whsec_x"), "{fp}");
        }
    }
}
