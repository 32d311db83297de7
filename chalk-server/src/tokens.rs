//! Access tokens (HS256 JWTs) and opaque refresh tokens.
//!
//! A refresh token is a random string, not a JWT: it can never be mistaken for an access
//! token, and its single use is recorded in the store by hash.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "chalk";
const REFRESH_PREFIX: &str = "rt_";

/// What a tenant access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// Tenant id.
    pub sub: String,
    /// Id of the API key that minted it.
    pub kid: String,
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

pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenSigner {
    pub fn new(secret: &[u8]) -> Self {
        // Only HS256 is accepted: `alg: none` and algorithm confusion fail validation.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
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
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            sub: tenant_id.to_owned(),
            kid: key_id.to_owned(),
            scope: scope.to_owned(),
            jti: crate::crypto::random_base62(22),
            iat: now,
            exp: now + ttl,
            typ: "access".to_owned(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail")
    }

    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        match decode::<AccessClaims>(token, &self.decoding, &self.validation) {
            Ok(data) if data.claims.typ == "access" => Ok(data.claims),
            Ok(_) => Err(TokenError::Invalid),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                Err(TokenError::Expired)
            }
            Err(_) => Err(TokenError::Invalid),
        }
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
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail")
    }

    /// Verifies a participant token of kind `typ`; any other kind is `Invalid`.
    pub fn verify_participant(
        &self,
        token: &str,
        typ: &str,
    ) -> Result<ParticipantClaims, TokenError> {
        match decode::<ParticipantClaims>(token, &self.decoding, &self.validation) {
            Ok(data) if data.claims.typ == typ => Ok(data.claims),
            Ok(_) => Err(TokenError::Invalid),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                Err(TokenError::Expired)
            }
            Err(_) => Err(TokenError::Invalid),
        }
    }
}

/// A new opaque refresh token.
pub fn new_refresh_token() -> String {
    format!("{REFRESH_PREFIX}{}", crate::crypto::random_base62(43))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn signer() -> TokenSigner {
        TokenSigner::new(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn round_trip() {
        let s = signer();
        let now = chrono::Utc::now().timestamp();
        let token = s.mint_access("tenant_a", "key_a", "tenant:read", now, 60);
        let claims = s.verify_access(&token).unwrap();
        assert_eq!(claims.sub, "tenant_a");
        assert_eq!(claims.kid, "key_a");
        assert_eq!(claims.iss, "chalk");
    }

    #[test]
    fn expired_tampered_and_none_are_refused() {
        let s = signer();
        let now = chrono::Utc::now().timestamp();
        let expired = s.mint_access("t", "k", "", now - 100, 10);
        assert_eq!(s.verify_access(&expired), Err(TokenError::Expired));

        let token = s.mint_access("t", "k", "", now, 60);
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let forged = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"iss":"chalk","sub":"other","kid":"k","scope":"","jti":"j","iat":now,"exp":now+60,"typ":"access"})
                .to_string(),
        );
        parts[1] = forged.clone();
        assert_eq!(s.verify_access(&parts.join(".")), Err(TokenError::Invalid));

        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            s.verify_access(&format!("{none_header}.{forged}.")),
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
        assert_eq!(s.verify_access(&participant), Err(TokenError::Invalid));
        assert_eq!(
            s.verify_participant(&participant, PARTICIPANT_REFRESH),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            s.verify_participant(&token, PARTICIPANT_ACCESS),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            s.verify_participant(&participant, PARTICIPANT_ACCESS)
                .unwrap()
                .rid,
            "room_a"
        );

        let other = TokenSigner::new(b"another-secret-another-secret-000");
        assert_eq!(other.verify_access(&token), Err(TokenError::Invalid));
        assert_eq!(
            s.verify_access(&new_refresh_token()),
            Err(TokenError::Invalid)
        );
    }
}
