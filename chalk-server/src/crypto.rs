//! Secrets at rest and credential hashing.
//!
//! - API keys and refresh tokens are high-entropy random strings, so one SHA-256 is the
//!   right hash (as crates.io does for its tokens): a lookup by hash, no salt needed.
//! - Webhook/provider secrets and replayable idempotent responses must be read back, so
//!   they are sealed with AES-256-GCM under `CHALK_ENCRYPTION_KEY`.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const SEALED_PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

/// The symmetric key for secrets at rest. `Debug` does not show it.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the encryption key must be 32 bytes encoded as base64")]
    BadKey,
    #[error("a sealed value could not be opened (wrong CHALK_ENCRYPTION_KEY, or corrupt data)")]
    Open,
}

impl Sealer {
    /// From the base64 text of a 32-byte key.
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let bytes = B64.decode(text.trim()).map_err(|_| CryptoError::BadKey)?;
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| CryptoError::BadKey)?;
        Ok(Self { cipher })
    }

    /// A fresh random key, as base64 text (what `CHALK_ENCRYPTION_KEY` holds).
    pub fn generate_key_base64() -> String {
        let key: [u8; 32] = rand::rng().random();
        B64.encode(key)
    }

    /// Encrypts `plaintext` under a random nonce: `v1:` + base64(nonce ‖ ciphertext).
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let nonce_bytes: [u8; NONCE_LEN] = rand::rng().random();
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce_bytes), plaintext)
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}", B64.encode(out))
    }

    pub fn seal_str(&self, plaintext: &str) -> String {
        self.seal(plaintext.as_bytes())
    }

    /// Decrypts what [`Sealer::seal`] produced.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let body = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or(CryptoError::Open)?;
        let bytes = B64.decode(body).map_err(|_| CryptoError::Open)?;
        if bytes.len() < NONCE_LEN {
            return Err(CryptoError::Open);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| CryptoError::Open)
    }

    pub fn open_str(&self, sealed: &str) -> Result<String, CryptoError> {
        String::from_utf8(self.open(sealed)?).map_err(|_| CryptoError::Open)
    }
}

/// A key for one purpose, derived from the base64 text of `CHALK_ENCRYPTION_KEY`:
/// SHA-256 over a label naming the purpose and the key. Each purpose gets its own label, so
/// no derived key (nor anything computed from one, like a fingerprint) is the raw key or
/// tells anything about another purpose's key.
pub fn derive_key(key_base64: &str, label: &str) -> Result<[u8; 32], CryptoError> {
    let bytes = B64
        .decode(key_base64.trim())
        .map_err(|_| CryptoError::BadKey)?;
    if bytes.len() != 32 {
        return Err(CryptoError::BadKey);
    }
    let mut hasher = Sha256::new();
    hasher.update(label.as_bytes());
    hasher.update([0u8]);
    hasher.update(&bytes);
    Ok(hasher.finalize().into())
}

/// Hex SHA-256 of a credential, as stored.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Lowercase hex of `bytes`. Every authenticated request hashes its key with it to find the
/// key: one allocation, not one a byte.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

/// Compares two secrets in constant time. Both sides are hashed first so that neither
/// the content nor the length of the expected value leaks through timing.
pub fn secrets_equal(given: &str, expected: &str) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    a.ct_eq(&b).into()
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` random base62 characters from the thread's CSPRNG.
pub fn random_base62(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| BASE62[rng.random_range(0..BASE62.len())] as char)
        .collect()
}

/// A prefixed id: `tenant_…`, `key_…`, `room_…`, `part_…`: 16 base62 characters, the
/// first 7 the time in milliseconds, the other 9 random (about 53 bits).
///
/// Time first, so that ids made together sort together: every id column is indexed, and
/// a B-tree takes new keys that sort together in a page or two, where random ones each
/// dirty a page of their own for the commit to write. Random ids made a `POST /tenants`
/// commit write ~6 index pages per tenant (bench/README.md, 2026-12-07). The base62
/// digits are in byte order, so an id sorts by its time; 7 of them count 111 years of
/// milliseconds from 1970 and then start again, which only costs the locality. An id is
/// never a secret: knowing one grants nothing, and the time it shows is the
/// `created_at` of what it names.
pub fn new_id(prefix: &str) -> String {
    let millis = u64::try_from(crate::clock::now_millis()).unwrap_or(0);
    let mut id = String::with_capacity(prefix.len() + 17);
    id.push_str(prefix);
    id.push('_');
    push_base62::<7>(&mut id, millis);
    // 9 random digits from one draw, uniform: 62^9 < 2^64. (Every request gets an id.)
    push_base62::<9>(&mut id, rand::rng().random_range(0..62u64.pow(9)));
    id
}

/// Appends `value` in `N` base62 digits (its low part when it needs more), most
/// significant first.
fn push_base62<const N: usize>(out: &mut String, mut value: u64) {
    let mut digits = [0u8; N];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out.extend(digits.iter().map(|&d| char::from(d)));
}

/// A new tenant API key: `sk_live_` + 32 base62 characters.
pub fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", random_base62(32))
}

pub const API_KEY_PREFIX: &str = "sk_live_";

/// A new operator key: `ok_live_` + 32 base62 characters.
pub fn new_operator_key() -> String {
    format!("{OPERATOR_KEY_PREFIX}{}", random_base62(32))
}

pub const OPERATOR_KEY_PREFIX: &str = "ok_live_";

/// The part of a key that may be shown after creation: its first 12 characters.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_base62_and_sort_by_their_time() {
        let first = new_id("tenant");
        assert_eq!(first.len(), "tenant_".len() + 16);
        let (prefix, body) = first.split_once('_').unwrap();
        assert_eq!(prefix, "tenant");
        assert!(body.bytes().all(|b| BASE62.contains(&b)), "{first}");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let later = new_id("tenant");
        assert!(later > first, "{later} was made after {first}");
        // Many in one millisecond stay distinct: the random part tells them apart.
        let many: std::collections::HashSet<String> = (0..10_000).map(|_| new_id("k")).collect();
        assert_eq!(many.len(), 10_000);
    }

    fn base62_fixed<const N: usize>(value: u64) -> String {
        let mut text = String::new();
        push_base62::<N>(&mut text, value);
        text
    }

    #[test]
    fn base62_digits_sort_as_their_numbers() {
        assert_eq!(base62_fixed::<3>(0), "000");
        assert_eq!(base62_fixed::<3>(61), "00z");
        assert_eq!(base62_fixed::<3>(62), "010");
        assert_eq!(
            base62_fixed::<2>(62 * 62 + 1),
            "01",
            "the low digits when it needs more"
        );
        let mut numbers: Vec<u64> = vec![5, 3_843, 62, 0, 1_000_000, 61, 238_327];
        let mut texts: Vec<String> = numbers.iter().map(|&n| base62_fixed::<4>(n)).collect();
        numbers.sort_unstable();
        texts.sort_unstable();
        let sorted: Vec<String> = numbers.iter().map(|&n| base62_fixed::<4>(n)).collect();
        assert_eq!(texts, sorted);
    }

    #[test]
    fn hash_secret_is_lowercase_hex_sha256() {
        // FIPS 180-2's test vector: keys stored by earlier versions keep matching.
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn seal_round_trips_and_is_randomized() {
        let sealer = Sealer::from_base64(&Sealer::generate_key_base64()).unwrap();
        let a = sealer.seal_str("whsec_secret");
        let b = sealer.seal_str("whsec_secret");
        assert_ne!(a, b, "each seal uses a fresh nonce");
        assert!(!a.contains("whsec_secret"));
        assert_eq!(sealer.open_str(&a).unwrap(), "whsec_secret");
    }

    #[test]
    fn open_with_another_key_fails() {
        let one = Sealer::from_base64(&Sealer::generate_key_base64()).unwrap();
        let two = Sealer::from_base64(&Sealer::generate_key_base64()).unwrap();
        assert!(matches!(
            two.open(&one.seal_str("x")),
            Err(CryptoError::Open)
        ));
        assert!(matches!(one.open("v1:@@@"), Err(CryptoError::Open)));
    }

    #[test]
    fn derived_keys_differ_by_label_and_from_the_key() {
        let key = Sealer::generate_key_base64();
        let raw = B64.decode(&key).unwrap();
        let a = derive_key(&key, "a").unwrap();
        let b = derive_key(&key, "b").unwrap();
        assert_ne!(a, b);
        assert_ne!(a.as_slice(), raw.as_slice());
        assert_eq!(a, derive_key(&key, "a").unwrap(), "deterministic");
        assert!(derive_key(&B64.encode([0u8; 16]), "a").is_err());
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(Sealer::from_base64("not base64!").is_err());
        assert!(Sealer::from_base64(&B64.encode([0u8; 16])).is_err());
    }

    #[test]
    fn api_keys_have_the_contract_shape() {
        let key = new_api_key();
        assert_eq!(key.len(), 8 + 32);
        assert!(key.starts_with("sk_live_"));
        assert!(key[8..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(key_prefix(&key).len(), 12);
    }

    #[test]
    fn comparisons() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
        assert_eq!(hash_secret("abc").len(), 64);
    }
}
