//! `chalk token issue|refresh|revoke|inspect`: access and refresh tokens.
//!
//! Tokens given as arguments are visible in `ps`; left out (or `-`), they are read from
//! stdin, or asked for with a hidden prompt on a terminal.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chalk_sdk::model::TokenPair;
use std::time::Duration;

use chalk_sdk::tokens::Verifier;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::{Value, json};

use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::output::{Block, View, cell};
use crate::store::CredentialKind;

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Exchange the API key in use for an access token and a refresh token
    #[command(after_help = "Examples:
  CHALK_API_KEY=sk_live_... chalk token issue -o json | jq -r .access_token
  chalk --profile acme token issue")]
    Issue,
    /// Trade a refresh token for a new pair (a refresh token works once)
    #[command(after_help = "Examples:
  jq -r .refresh_token tokens.json | chalk token refresh -o json > tokens.json")]
    Refresh {
        /// The refresh token; `-` or left out reads it from stdin
        token: Option<String>,
    },
    /// Revoke a refresh token and every token of its chain
    #[command(after_help = "Example:\n  jq -r .refresh_token tokens.json | chalk token revoke")]
    Revoke {
        /// The refresh token; `-` or left out reads it from stdin
        token: Option<String>,
    },
    /// Decode a token and show its header (`kid`) and claims; with an API URL configured,
    /// also whether its signature verifies against that server's JWKS
    #[command(after_help = "Examples:
  jq -r .access_token tokens.json | chalk token inspect
  chalk --api-url https://chalk.example.com token inspect \"$PARTICIPANT_TOKEN\" -o json | jq .signature_verified")]
    Inspect {
        /// The JWT; `-` or left out reads it from stdin
        token: Option<String>,
    },
}

const HOW: &str = "pass it as an argument or on stdin";

pub async fn run(ctx: &Context, cmd: TokenCmd) -> CliResult<View> {
    match cmd {
        TokenCmd::Issue => {
            let credential = ctx.credential()?;
            let (Some(CredentialKind::ApiKey), Some(key)) = (credential.kind, credential.secret)
            else {
                return Err(CliError::usage(
                    "token issue exchanges a tenant API key: set CHALK_API_KEY, pass --api-key, or use a profile logged in with an API key",
                ));
            };
            let pair = ctx.client_with(None, None)?.auth().token(key).await?;
            pair_view(&pair)
        }
        TokenCmd::Refresh { token } => {
            let token = ctx.secret(token, "refresh token", HOW)?;
            let pair = ctx.client_with(None, None)?.auth().refresh(token).await?;
            pair_view(&pair)
        }
        TokenCmd::Revoke { token } => {
            let token = ctx.secret(token, "refresh token", HOW)?;
            let revoked = ctx.client_with(None, None)?.auth().revoke(token).await?;
            View::fields(&revoked)
        }
        TokenCmd::Inspect { token } => {
            let token = ctx.secret(token, "token", HOW)?;
            let signature = match ctx.configured_api_url()? {
                Some(server) => check_signature(ctx, server, &token).await?,
                None => Signature::NotChecked,
            };
            inspect(&token, Utc::now(), &signature)
        }
    }
}

fn pair_view(pair: &TokenPair) -> CliResult<View> {
    let json = json!({
        "access_token": pair.access_token.expose(),
        "refresh_token": pair.refresh_token.expose(),
        "token_type": pair.token_type,
        "expires_in": pair.expires_in,
    });
    View::new(
        json,
        vec![
            Block::Fields(vec![
                ("token_type".into(), pair.token_type.clone()),
                ("expires_in".into(), format!("{} s", pair.expires_in)),
            ]),
            Block::Secret {
                label: "access token".into(),
                value: pair.access_token.expose().to_owned(),
            },
            Block::Secret {
                label: "refresh token (works once)".into(),
                value: pair.refresh_token.expose().to_owned(),
            },
        ],
    )
}

/// What became of a token's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// No API URL configured: decoded locally only.
    NotChecked,
    /// Verified by the key `kid` of the server's JWKS.
    Verified { server: String, kid: String },
    /// Not verified against the server's JWKS, and why.
    Failed { server: String, reason: String },
}

/// Checks `token`'s signature against the JWKS of `server` (no credential is sent).
async fn check_signature(ctx: &Context, server: String, token: &str) -> CliResult<Signature> {
    let client = ctx.client_with(None, None)?;
    let checked = async {
        let verifier = Verifier::from_client(client, Duration::ZERO).await?;
        verifier.verify_signature(token.trim()).await
    };
    Ok(match checked.await {
        Ok(kid) => Signature::Verified { server, kid },
        Err(e) => Signature::Failed {
            server,
            reason: e.to_string(),
        },
    })
}

fn decode_part(part: &str, what: &str) -> CliResult<Value> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| CliError::Invalid(format!("not a JWT: the {what} is not base64url ({e})")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| CliError::Invalid(format!("not a JWT: the {what} is not JSON ({e})")))
}

/// The header and claims of a JWT, with `iat`/`exp` as times, whether it has expired,
/// and what became of its signature.
pub fn inspect(token: &str, now: DateTime<Utc>, signature: &Signature) -> CliResult<View> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    if parts.len() != 3 {
        return Err(CliError::Invalid(
            "not a JWT: expected three dot-separated parts (refresh tokens are opaque and cannot be inspected)".into(),
        ));
    }
    let header = decode_part(parts[0], "header")?;
    let claims = decode_part(parts[1], "claims")?;
    let time = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_i64)
            .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
    };
    let expires_at = time("exp");
    let expired = expires_at.map(|exp| exp <= now);
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    let (verified, signature_text) = match signature {
        Signature::NotChecked => (
            false,
            "not verified (decoded locally; set --api-url or CHALK_API_URL to check it against the server's JWKS)".to_owned(),
        ),
        Signature::Verified { server, kid } => {
            (true, format!("verified by key {kid} of {server}'s JWKS"))
        }
        Signature::Failed { server, reason } => (
            false,
            format!("NOT verified against {server}'s JWKS: {reason}"),
        ),
    };
    let json = json!({
        "header": header,
        "kid": kid,
        "claims": claims,
        "issued_at": time("iat"),
        "expires_at": expires_at,
        "expired": expired,
        "signature_verified": verified,
        "signature": signature_text,
    });
    let mut rows: Vec<(String, String)> = vec![("kid".into(), kid.unwrap_or_else(|| "-".into()))];
    if let Value::Object(map) = &header {
        rows.extend(map.iter().map(|(k, v)| (format!("header.{k}"), cell(v))));
    }
    if let Value::Object(map) = &claims {
        for (k, v) in map {
            let shown = match (
                k.as_str(),
                v.as_i64()
                    .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0)),
            ) {
                ("iat" | "exp" | "nbf", Some(t)) => format!("{} ({})", v, crate::output::time(t)),
                _ => cell(v),
            };
            rows.push((k.clone(), shown));
        }
    }
    rows.push((
        "status".into(),
        match expired {
            Some(true) => "expired".into(),
            Some(false) => "not expired".into(),
            None => "no exp claim".into(),
        },
    ));
    rows.push(("signature".into(), signature_text));
    View::new(json, vec![Block::Fields(rows)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{header}.{claims}.c2lnbmF0dXJl")
    }

    #[test]
    fn claims_are_decoded_and_expiry_judged() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let token = jwt(
            json!({"sub": "tenant_a", "scope": "rooms:write", "iat": 1_799_999_000, "exp": 1_800_000_100}),
        );
        let view = inspect(&token, now, &Signature::NotChecked).unwrap();
        assert_eq!(view.json["claims"]["sub"], "tenant_a");
        assert_eq!(view.json["header"]["alg"], "HS256");
        assert_eq!(view.json["expired"], false);
        assert_eq!(view.json["signature_verified"], false);

        let later = DateTime::<Utc>::from_timestamp(1_800_000_100, 0).unwrap();
        assert_eq!(
            inspect(&token, later, &Signature::NotChecked).unwrap().json["expired"],
            true
        );
    }

    #[test]
    fn garbage_is_invalid_input() {
        for bad in ["opaque-refresh-token", "a.b.c", "e30.bm90IGpzb24.x"] {
            let err = inspect(bad, Utc::now(), &Signature::NotChecked).unwrap_err();
            assert_eq!(err.exit_code(), crate::error::exit::INVALID_INPUT, "{bad}");
        }
    }
}
