//! Access tokens and participant tokens (JWTs), and opaque tenant refresh tokens.
//!
//! A tenant refresh token is a random string, not a JWT: it can never be mistaken for an
//! access token, and its single use is recorded in the store by hash.
//!
//! JWTs are signed either with Ed25519 (`EdDSA`, the default) by the current key of the
//! store's [`KeyRing`], each carrying that key's `kid` in its header, or with HS256 and
//! `CHALK_JWT_SECRET`. Verification accepts only the configured algorithm (never `none`,
//! never HS256 under EdDSA or the reverse) and, under EdDSA, picks the key by `kid`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chalk_sdk::model::{Jwk, Jwks};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::Sealer;
use crate::store::audit::{self, AuditRow};
use crate::store::signing_keys::{self, SigningKeyRow};
use crate::store::{Store, StoreError, StoreResult};

pub const ISSUER: &str = "chalk";
const REFRESH_PREFIX: &str = "rt_";
/// The `algorithm` column of an Ed25519 key.
pub const EDDSA: &str = "EdDSA";

/// How often an instance re-reads the keys, so that it signs with a key another instance
/// made current within this time.
pub const KEY_REFRESH_INTERVAL: Duration = Duration::from_secs(5);
/// On an unknown `kid`, the keys are re-read at most this often.
const UNKNOWN_KID_RELOAD: Duration = Duration::from_secs(1);
/// Added to the longest token lifetime when a key is rotated away: covers an instance
/// that kept signing with it until its next refresh, and clock skew between instances.
pub const ROTATION_MARGIN_SECONDS: i64 = 60;

/// `CHALK_JWT_ALGORITHM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum JwtAlgorithm {
    /// Ed25519 keys in the store, published at `/.well-known/jwks.json`.
    #[default]
    #[value(name = "EdDSA", alias = "eddsa")]
    EdDsa,
    /// A shared secret, `CHALK_JWT_SECRET`.
    #[value(name = "HS256", alias = "hs256")]
    Hs256,
}

impl JwtAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            JwtAlgorithm::EdDsa => EDDSA,
            JwtAlgorithm::Hs256 => "HS256",
        }
    }
}

/// What a tenant access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// Tenant id.
    pub sub: String,
    /// Id of the API key that minted it (tokens from before this claim was renamed call it
    /// `kid`; the header's `kid` names the signing key).
    #[serde(alias = "kid")]
    pub key_id: String,
    /// Space-separated scopes.
    pub scope: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    /// `"access"`; other token kinds carry other values and are refused here.
    pub typ: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

/// An Ed25519 key pair ready for the store: the PKCS#8 document sealed, the public half
/// raw. The unsealed document lives only inside this function's caller.
///
/// The 32-byte seed comes straight from the operating system's CSPRNG (`getrandom(2)`,
/// as ring and ed25519-dalek draw theirs), not from aws-lc's own generator: aws-lc seeds
/// that one from CPU jitter entropy on its first use in a process, ~30 ms of CPU that
/// a first start spent before it could answer (bench/README.md, start to healthy).
pub fn generate_key(sealer: &Sealer, now: i64) -> SigningKeyRow {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    use rand::TryRngCore;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut seed)
        .expect("the operating system's random source");
    let pair = Ed25519KeyPair::from_seed_unchecked(&seed).expect("any 32 bytes are a seed");
    seed.fill(0);
    let pkcs8 = pair
        .to_pkcs8()
        .expect("an Ed25519 key serializes as PKCS#8");
    let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    SigningKeyRow {
        kid: thumbprint(&x),
        algorithm: EDDSA.to_owned(),
        sealed_private_key: sealer.seal(pkcs8.as_ref()),
        public_key: x,
        status: signing_keys::CURRENT.to_owned(),
        created_at: now,
        retires_at: None,
    }
}

/// The RFC 7638 JWK thumbprint of an Ed25519 public key (base64url SHA-256 of the
/// canonical JWK): a `kid` any party can recompute from the JWKS.
pub fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The keys as last read from the store.
#[derive(Default)]
struct KeySet {
    /// kid and signing key of the current key.
    current: Option<(String, EncodingKey)>,
    verifying: HashMap<String, DecodingKey>,
    jwks: Jwks,
}

/// The store's signing keys, cached in memory: they change only on rotation. Neither the
/// keys nor this type ever appear in `Debug` output.
pub struct KeyRing {
    store: Arc<Store>,
    sealer: Sealer,
    set: RwLock<Arc<KeySet>>,
    last_load: tokio::sync::Mutex<Instant>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyRing([redacted])")
    }
}

impl KeyRing {
    /// Reads the keys, first creating the current key if the store has none. Several
    /// instances starting at once each try to insert one; the unique index of the current
    /// key lets exactly one win, and every instance then reads back the winner.
    pub async fn open(store: Arc<Store>, sealer: Sealer) -> Result<Self, String> {
        let at = crate::clock::now();
        let has_current = {
            let mut db = store.read().await.map_err(|e| e.to_string())?;
            signing_keys::verifying(&mut db, at)
                .await
                .map_err(|e| e.to_string())?
                .iter()
                .any(|k| k.status == signing_keys::CURRENT)
        };
        if !has_current {
            let key = generate_key(&sealer, at);
            let mut db = store.begin().await.map_err(|e| e.to_string())?;
            let won = signing_keys::insert_current_if_none(&mut db, &key)
                .await
                .map_err(|e| e.to_string())?;
            db.commit().await.map_err(|e| e.to_string())?;
            if won {
                tracing::info!(kid = %key.kid, "created the first token signing key");
            }
        }
        let set = load(&store, &sealer).await.map_err(|e| match e {
            LoadError::Store(e) => e.to_string(),
            LoadError::Key(message) => message,
        })?;
        Ok(Self {
            store,
            sealer,
            set: RwLock::new(Arc::new(set)),
            last_load: tokio::sync::Mutex::new(Instant::now()),
        })
    }

    fn snapshot(&self) -> Arc<KeySet> {
        self.set.read().expect("key set lock poisoned").clone()
    }

    /// Re-reads the keys now. On failure the keys in memory stay as they were.
    pub async fn reload(&self) -> StoreResult<()> {
        let mut last = self.last_load.lock().await;
        self.reload_locked(&mut last).await
    }

    async fn reload_locked(&self, last: &mut Instant) -> StoreResult<()> {
        let set = load(&self.store, &self.sealer).await.map_err(|e| match e {
            LoadError::Store(e) => e,
            LoadError::Key(message) => StoreError::Internal(message),
        })?;
        *self.set.write().expect("key set lock poisoned") = Arc::new(set);
        *last = Instant::now();
        Ok(())
    }

    /// Re-reads the keys unless that was done less than `interval` ago; whoever waited
    /// for another caller's reload does not reload again.
    async fn reload_at_most_every(&self, interval: Duration) {
        let mut last = self.last_load.lock().await;
        if last.elapsed() < interval {
            return;
        }
        if let Err(e) = self.reload_locked(&mut last).await {
            *last = Instant::now();
            tracing::warn!(error = %e, "could not reload the token signing keys");
        }
    }

    /// For a token naming a `kid` not in memory (perhaps another instance rotated): the
    /// keys are re-read, at most once per [`UNKNOWN_KID_RELOAD`]. A caller arriving sooner
    /// waits for the next permitted read rather than being refused, and callers queued
    /// behind one read all use it, so a flood of made-up kids costs one query a second.
    async fn reload_for_unknown_kid(&self) {
        let asked = Instant::now();
        let mut last = self.last_load.lock().await;
        if *last >= asked {
            return;
        }
        let wait = UNKNOWN_KID_RELOAD.saturating_sub(last.elapsed());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        if let Err(e) = self.reload_locked(&mut last).await {
            *last = Instant::now();
            tracing::warn!(error = %e, "could not reload the token signing keys");
        }
    }

    /// Makes a new current key; the old one verifies until `retire_after` seconds from now.
    /// `audit_entry` makes the audit entry written in the rotation's transaction.
    pub async fn rotate(
        &self,
        retire_after: i64,
        audit_entry: impl Fn(&SigningKeyRow) -> AuditRow,
    ) -> StoreResult<SigningKeyRow> {
        let mut attempts = 0;
        loop {
            let at = crate::clock::now();
            let key = generate_key(&self.sealer, at);
            let mut db = self.store.begin().await?;
            let rotated = match signing_keys::rotate(&mut db, &key, at + retire_after, at).await {
                Ok(()) => match audit::insert(&mut db, &audit_entry(&key)).await {
                    Ok(()) => db.commit().await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            match rotated {
                Ok(()) => {
                    tracing::info!(kid = %key.kid, "rotated the token signing key");
                    self.reload().await?;
                    return Ok(key);
                }
                // Another rotation installed its key first: rotate again over it.
                Err(StoreError::Conflict(_)) | Err(StoreError::Unavailable(_)) if attempts < 3 => {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Re-reads the keys every `interval` until aborted.
    pub fn spawn_refresher(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let ring = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                ring.reload_at_most_every(interval / 2).await;
            }
        })
    }
}

enum LoadError {
    Store(StoreError),
    Key(String),
}

async fn load(store: &Store, sealer: &Sealer) -> Result<KeySet, LoadError> {
    let rows = {
        let mut db = store.read().await.map_err(LoadError::Store)?;
        signing_keys::verifying(&mut db, crate::clock::now())
            .await
            .map_err(LoadError::Store)?
    };
    let mut set = KeySet::default();
    for row in rows.iter().filter(|row| row.algorithm == EDDSA) {
        let decoding = DecodingKey::from_ed_components(&row.public_key).map_err(|_| {
            LoadError::Key(format!(
                "signing key {} has a malformed public key",
                row.kid
            ))
        })?;
        if row.status == signing_keys::CURRENT {
            let pkcs8 = sealer
                .open(&row.sealed_private_key)
                .map_err(|e| LoadError::Key(format!("signing key {}: {e}", row.kid)))?;
            aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| {
                LoadError::Key(format!(
                    "signing key {} is not an Ed25519 PKCS#8 key",
                    row.kid
                ))
            })?;
            set.current = Some((row.kid.clone(), EncodingKey::from_ed_der(&pkcs8)));
        }
        set.verifying.insert(row.kid.clone(), decoding);
        set.jwks.keys.push(Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            kid: row.kid.clone(),
            alg: EDDSA.into(),
            use_: "sig".into(),
            x: row.public_key.clone(),
        });
    }
    if set.current.is_none() {
        // Never made by the server (open() creates one, rotate() replaces it in one
        // transaction): keep signing with the keys in memory rather than with none.
        return Err(LoadError::Key(
            "the store holds no current signing key".into(),
        ));
    }
    Ok(set)
}

enum Keys {
    Hs256 {
        encoding: EncodingKey,
        decoding: DecodingKey,
    },
    EdDsa(Arc<KeyRing>),
}

/// Tokens whose signature verified, held at most this many at once. An entry is the token
/// and its claims, well under a KiB: the whole cache stays within about 10 MiB.
pub const VERIFIED_CAPACITY: usize = 10_000;

/// A token's claims once its signature and issuer verified.
#[derive(Debug, Clone)]
pub enum Verified {
    Access(AccessClaims),
    Participant(ParticipantClaims),
}

struct VerifiedEntry {
    /// The key that signed it (`None` under HS256, whose secret never changes).
    kid: Option<String>,
    exp: i64,
    claims: Verified,
}

/// Token → its verified claims, so that a token's Ed25519 signature is checked once and
/// not on every request. A signature's validity never changes; what can end a token's
/// life is still checked on every hit, as a fresh verification would: its `exp` against
/// the clock, and its `kid` still being in the key ring (a retired key's tokens stop
/// verifying when the ring drops it). Revocation (key, tenant, participant, room) is
/// `auth`'s business and runs after either way. Reaching [`VERIFIED_CAPACITY`] clears it.
#[derive(Default)]
struct VerifiedTokens {
    map: Mutex<HashMap<String, VerifiedEntry>>,
}

impl VerifiedTokens {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, VerifiedEntry>> {
        // A panic while holding the lock leaves a plain map behind, still consistent.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `None` if `token` is not held (or its key no longer verifies: then it is dropped
    /// and verifying it afresh gives the answer); otherwise its claims or `Expired`.
    fn get(
        &self,
        token: &str,
        now: i64,
        verifies: impl Fn(&str) -> bool,
    ) -> Option<Result<Verified, TokenError>> {
        let mut map = self.map();
        let entry = map.get(token)?;
        if entry.kid.as_deref().is_some_and(|kid| !verifies(kid)) {
            map.remove(token);
            return None;
        }
        // As `jsonwebtoken` with no leeway: expired once `exp` is in the past.
        if entry.exp < now {
            map.remove(token);
            return Some(Err(TokenError::Expired));
        }
        Some(Ok(entry.claims.clone()))
    }

    fn put(&self, token: &str, kid: Option<String>, exp: i64, claims: Verified) {
        let mut map = self.map();
        if map.len() >= VERIFIED_CAPACITY && !map.contains_key(token) {
            map.clear();
        }
        map.insert(token.to_owned(), VerifiedEntry { kid, exp, claims });
    }
}

/// Mints and verifies every JWT the server issues. `Debug` shows only the algorithm.
pub struct TokenSigner {
    keys: Keys,
    validation: Validation,
    verified: VerifiedTokens,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenSigner({})", self.algorithm().as_str())
    }
}

fn validation(algorithm: Algorithm) -> Validation {
    // Only `algorithm` is accepted: `alg: none` and algorithm confusion fail validation.
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.leeway = 0;
    validation
}

impl TokenSigner {
    /// HS256 with a shared secret (`CHALK_JWT_ALGORITHM=HS256`).
    pub fn new(secret: &[u8]) -> Self {
        Self {
            keys: Keys::Hs256 {
                encoding: EncodingKey::from_secret(secret),
                decoding: DecodingKey::from_secret(secret),
            },
            validation: validation(Algorithm::HS256),
            verified: VerifiedTokens::default(),
        }
    }

    /// EdDSA with the store's keys (creating the first one if needed).
    pub async fn ed_dsa(store: Arc<Store>, sealer: Sealer) -> Result<Self, String> {
        Ok(Self {
            keys: Keys::EdDsa(Arc::new(KeyRing::open(store, sealer).await?)),
            validation: validation(Algorithm::EdDSA),
            verified: VerifiedTokens::default(),
        })
    }

    pub fn algorithm(&self) -> JwtAlgorithm {
        match self.keys {
            Keys::Hs256 { .. } => JwtAlgorithm::Hs256,
            Keys::EdDsa(_) => JwtAlgorithm::EdDsa,
        }
    }

    /// The store's keys, under EdDSA.
    pub fn key_ring(&self) -> Option<&Arc<KeyRing>> {
        match &self.keys {
            Keys::EdDsa(ring) => Some(ring),
            Keys::Hs256 { .. } => None,
        }
    }

    /// The public keys still verifying (empty under HS256).
    pub fn jwks(&self) -> Jwks {
        match &self.keys {
            Keys::EdDsa(ring) => ring.snapshot().jwks.clone(),
            Keys::Hs256 { .. } => Jwks::default(),
        }
    }

    /// Signs `claims` as the server signs every token: with the current key (and its
    /// `kid`) under EdDSA, with the secret under HS256.
    pub fn sign<T: Serialize>(&self, claims: &T) -> String {
        match &self.keys {
            Keys::Hs256 { encoding, .. } => {
                encode(&Header::new(Algorithm::HS256), claims, encoding)
                    .expect("HS256 signing with an in-memory key cannot fail")
            }
            Keys::EdDsa(ring) => {
                let set = ring.snapshot();
                let (kid, key) = set
                    .current
                    .as_ref()
                    .expect("the key ring always holds a current key once opened");
                let mut header = Header::new(Algorithm::EdDSA);
                header.kid = Some(kid.clone());
                encode(&header, claims, key)
                    .expect("Ed25519 signing with a checked in-memory key cannot fail")
            }
        }
    }

    /// Verifies `token` afresh: its claims and the `kid` that signed it (EdDSA).
    async fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<(T, Option<String>), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if !self.validation.algorithms.contains(&header.alg) {
            return Err(TokenError::Invalid);
        }
        let decoded = match &self.keys {
            Keys::Hs256 { decoding, .. } => decode::<T>(token, decoding, &self.validation),
            Keys::EdDsa(ring) => {
                let kid = header.kid.as_deref().ok_or(TokenError::Invalid)?;
                let mut set = ring.snapshot();
                if !set.verifying.contains_key(kid) {
                    // Perhaps another instance rotated: look again, at most once a second.
                    ring.reload_for_unknown_kid().await;
                    set = ring.snapshot();
                }
                let key = set.verifying.get(kid).ok_or(TokenError::Invalid)?;
                decode::<T>(token, key, &self.validation)
            }
        };
        match decoded {
            Ok(data) => Ok((data.claims, header.kid)),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                Err(TokenError::Expired)
            }
            Err(_) => Err(TokenError::Invalid),
        }
    }

    pub fn mint_access(
        &self,
        tenant_id: &str,
        key_id: &str,
        scope: &str,
        now: i64,
        ttl: i64,
    ) -> String {
        self.sign(&AccessClaims {
            iss: ISSUER.to_owned(),
            sub: tenant_id.to_owned(),
            key_id: key_id.to_owned(),
            scope: scope.to_owned(),
            jti: crate::crypto::random_base62(22),
            iat: now,
            exp: now + ttl,
            typ: "access".to_owned(),
        })
    }

    /// The claims of `token` held from an earlier verification, if still valid now; `None`
    /// when it must be verified afresh.
    fn remembered(&self, token: &str) -> Option<Result<Verified, TokenError>> {
        let now = jsonwebtoken::get_current_timestamp() as i64;
        match &self.keys {
            Keys::Hs256 { .. } => self.verified.get(token, now, |_| true),
            Keys::EdDsa(ring) => {
                let set = ring.snapshot();
                self.verified
                    .get(token, now, |kid| set.verifying.contains_key(kid))
            }
        }
    }

    pub async fn verify_access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        match self.remembered(token) {
            Some(Ok(Verified::Access(claims))) => access_kind(claims),
            // A participant token lacks an access token's claims: as a fresh decode says.
            Some(Ok(Verified::Participant(_))) => Err(TokenError::Invalid),
            Some(Err(e)) => Err(e),
            None => access_kind(self.decode_access(token).await?),
        }
    }

    /// Verifies `token` afresh as a tenant's access token (any `typ`) and remembers it.
    async fn decode_access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let (claims, kid): (AccessClaims, _) = self.verify(token).await?;
        self.verified
            .put(token, kid, claims.exp, Verified::Access(claims.clone()));
        Ok(claims)
    }
}

/// `typ` of a participant's access token: accepted only for its own room.
pub const PARTICIPANT_ACCESS: &str = "participant";
/// `typ` of a participant's refresh token: accepted only in the body of
/// `POST /rooms/{id}/participants/{pid}/token`, never as a credential header.
pub const PARTICIPANT_REFRESH: &str = "participant_refresh";

/// What a participant token says. It is live only while `gen` is the participant's current
/// token generation in the store (checked on every request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantClaims {
    pub iss: String,
    /// Participant id.
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// Room id.
    pub rid: String,
    /// `host` or `participant`.
    pub role: String,
    /// The participant's token generation when minted.
    pub r#gen: i64,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    /// [`PARTICIPANT_ACCESS`] or [`PARTICIPANT_REFRESH`].
    pub typ: String,
}

impl TokenSigner {
    /// A participant token of kind `typ` (access or refresh) living `ttl` seconds.
    pub fn mint_participant(&self, claims: ParticipantClaims) -> String {
        self.sign(&claims)
    }

    /// A `Bearer` credential: a tenant's access token, or a participant's access token
    /// (`typ` [`PARTICIPANT_ACCESS`]). One lookup of the verified tokens tells which for a
    /// token verified before; a new one is verified as a tenant's, then as a participant's.
    pub async fn verify_bearer(&self, token: &str) -> Result<Verified, TokenError> {
        match self.remembered(token) {
            Some(Ok(Verified::Access(claims))) => access_kind(claims).map(Verified::Access),
            Some(Ok(Verified::Participant(claims))) => {
                participant_kind(claims, PARTICIPANT_ACCESS).map(Verified::Participant)
            }
            Some(Err(e)) => Err(e),
            None => match self.decode_access(token).await {
                Ok(claims) => access_kind(claims).map(Verified::Access),
                // Not a tenant access token: perhaps a participant's.
                Err(TokenError::Invalid) => self
                    .decode_participant(token)
                    .await
                    .and_then(|claims| participant_kind(claims, PARTICIPANT_ACCESS))
                    .map(Verified::Participant),
                Err(TokenError::Expired) => Err(TokenError::Expired),
            },
        }
    }

    /// Verifies a participant token of kind `typ`; any other kind is `Invalid`.
    pub async fn verify_participant(
        &self,
        token: &str,
        typ: &str,
    ) -> Result<ParticipantClaims, TokenError> {
        match self.remembered(token) {
            Some(Ok(Verified::Participant(claims))) => participant_kind(claims, typ),
            // An access token lacks a participant token's claims: as a fresh decode says.
            Some(Ok(Verified::Access(_))) => Err(TokenError::Invalid),
            Some(Err(e)) => Err(e),
            None => participant_kind(self.decode_participant(token).await?, typ),
        }
    }

    /// Verifies `token` afresh as a participant token (any `typ`) and remembers it.
    async fn decode_participant(&self, token: &str) -> Result<ParticipantClaims, TokenError> {
        let (claims, kid): (ParticipantClaims, _) = self.verify(token).await?;
        self.verified.put(
            token,
            kid,
            claims.exp,
            Verified::Participant(claims.clone()),
        );
        Ok(claims)
    }
}

/// A tenant's access token is one whose `typ` says so; anything else is `Invalid`.
fn access_kind(claims: AccessClaims) -> Result<AccessClaims, TokenError> {
    if claims.typ == "access" {
        Ok(claims)
    } else {
        Err(TokenError::Invalid)
    }
}

/// A participant token of kind `typ` (access or refresh); any other kind is `Invalid`.
fn participant_kind(claims: ParticipantClaims, typ: &str) -> Result<ParticipantClaims, TokenError> {
    if claims.typ == typ {
        Ok(claims)
    } else {
        Err(TokenError::Invalid)
    }
}

/// A new opaque refresh token.
pub fn new_refresh_token() -> String {
    format!("{REFRESH_PREFIX}{}", crate::crypto::random_base62(43))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> TokenSigner {
        TokenSigner::new(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn kids_are_rfc_7638_thumbprints() {
        // RFC 8037, appendix A.3.
        assert_eq!(
            thumbprint("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn generated_keys_are_sealed_and_never_shown() {
        let sealer = Sealer::from_base64(&Sealer::generate_key_base64()).unwrap();
        let key = generate_key(&sealer, 1_800_000_000);
        let pkcs8 = sealer.open(&key.sealed_private_key).unwrap();
        let pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(&pkcs8).unwrap();
        use aws_lc_rs::signature::KeyPair;
        assert_eq!(
            URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
            key.public_key
        );
        assert_eq!(key.kid, thumbprint(&key.public_key));
        let shown = format!("{key:?}");
        assert!(!shown.contains(&key.sealed_private_key), "{shown}");
        assert_eq!(format!("{:?}", signer()), "TokenSigner(HS256)");
    }

    #[tokio::test]
    async fn round_trip() {
        let s = signer();
        let now = crate::clock::now();
        let token = s.mint_access("tenant_a", "key_a", "tenant:read", now, 60);
        let claims = s.verify_access(&token).await.unwrap();
        assert_eq!(claims.sub, "tenant_a");
        assert_eq!(claims.key_id, "key_a");
        assert_eq!(claims.iss, "chalk");
    }

    #[tokio::test]
    async fn expired_tampered_and_none_are_refused() {
        let s = signer();
        let now = crate::clock::now();
        let expired = s.mint_access("t", "k", "", now - 100, 10);
        assert_eq!(s.verify_access(&expired).await, Err(TokenError::Expired));

        let token = s.mint_access("t", "k", "", now, 60);
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let forged = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"iss":"chalk","sub":"other","kid":"k","scope":"","jti":"j","iat":now,"exp":now+60,"typ":"access"})
                .to_string(),
        );
        parts[1] = forged.clone();
        assert_eq!(
            s.verify_access(&parts.join(".")).await,
            Err(TokenError::Invalid)
        );

        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            s.verify_access(&format!("{none_header}.{forged}.")).await,
            Err(TokenError::Invalid)
        );

        let participant = s.mint_participant(ParticipantClaims {
            iss: ISSUER.into(),
            sub: "part_a".into(),
            tid: "t".into(),
            rid: "room_a".into(),
            role: "host".into(),
            r#gen: 0,
            jti: "j".into(),
            iat: now,
            exp: now + 60,
            typ: PARTICIPANT_ACCESS.into(),
        });
        // Token kinds never stand in for each other.
        assert_eq!(
            s.verify_access(&participant).await,
            Err(TokenError::Invalid)
        );
        assert_eq!(
            s.verify_participant(&participant, PARTICIPANT_REFRESH)
                .await,
            Err(TokenError::Invalid)
        );
        assert_eq!(
            s.verify_participant(&token, PARTICIPANT_ACCESS).await,
            Err(TokenError::Invalid)
        );
        assert_eq!(
            s.verify_participant(&participant, PARTICIPANT_ACCESS)
                .await
                .unwrap()
                .rid,
            "room_a"
        );

        let other = TokenSigner::new(b"another-secret-another-secret-000");
        assert_eq!(other.verify_access(&token).await, Err(TokenError::Invalid));
        assert_eq!(
            s.verify_access(&new_refresh_token()).await,
            Err(TokenError::Invalid)
        );
    }

    fn access(exp: i64) -> Verified {
        Verified::Access(AccessClaims {
            iss: ISSUER.into(),
            sub: "tenant_a".into(),
            key_id: "key_a".into(),
            scope: String::new(),
            jti: "j".into(),
            iat: exp - 60,
            exp,
            typ: "access".into(),
        })
    }

    #[test]
    fn a_verified_token_is_held_until_it_expires() {
        let verified = VerifiedTokens::default();
        verified.put("t", None, 100, access(100));
        assert!(matches!(
            verified.get("t", 100, |_| true),
            Some(Ok(Verified::Access(c))) if c.sub == "tenant_a"
        ));
        assert!(matches!(
            verified.get("t", 101, |_| true),
            Some(Err(TokenError::Expired))
        ));
        assert!(
            verified.get("t", 50, |_| true).is_none(),
            "dropped once expired"
        );
        assert!(verified.get("other", 50, |_| true).is_none());
    }

    #[test]
    fn a_token_whose_key_left_the_ring_is_verified_afresh() {
        let verified = VerifiedTokens::default();
        verified.put("t", Some("kid_old".into()), 100, access(100));
        assert!(verified.get("t", 50, |kid| kid == "kid_old").is_some());
        assert!(verified.get("t", 50, |kid| kid == "kid_new").is_none());
        assert!(
            verified.get("t", 50, |_| true).is_none(),
            "dropped, not kept for a later ring"
        );
    }

    #[test]
    fn the_verified_tokens_stay_bounded() {
        let verified = VerifiedTokens::default();
        for i in 0..VERIFIED_CAPACITY + 10 {
            verified.put(&format!("t{i}"), None, 100, access(100));
        }
        assert!(verified.map().len() <= VERIFIED_CAPACITY);
        assert!(
            verified
                .get(&format!("t{}", VERIFIED_CAPACITY + 9), 50, |_| true)
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_remembered_token_answers_as_a_fresh_verification_would() {
        let s = signer();
        let now = crate::clock::now();
        let token = s.mint_access("tenant_a", "key_a", "tenant:read", now, 60);
        let fresh = s.verify_access(&token).await.unwrap();
        assert!(s.verified.map().contains_key(&token));
        assert_eq!(s.verify_access(&token).await.unwrap(), fresh);
        assert_eq!(
            s.verify_participant(&token, PARTICIPANT_ACCESS).await,
            Err(TokenError::Invalid)
        );
        let participant = s.mint_participant(ParticipantClaims {
            iss: ISSUER.into(),
            sub: "par_1".into(),
            tid: "tenant_a".into(),
            rid: "room_1".into(),
            role: "host".into(),
            r#gen: 1,
            jti: "j".into(),
            iat: now,
            exp: now + 60,
            typ: PARTICIPANT_ACCESS.into(),
        });
        for _ in 0..2 {
            assert_eq!(
                s.verify_access(&participant).await,
                Err(TokenError::Invalid)
            );
            assert_eq!(
                s.verify_participant(&participant, PARTICIPANT_REFRESH)
                    .await,
                Err(TokenError::Invalid)
            );
            assert_eq!(
                s.verify_participant(&participant, PARTICIPANT_ACCESS)
                    .await
                    .unwrap()
                    .sub,
                "par_1"
            );
        }
    }
}
