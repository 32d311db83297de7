//! A media-side service checking the token a browser presents, offline, from the Chalk
//! server's public keys: no secret, and no call to Chalk per token.
//!
//! ```sh
//! export CHALK_API_URL=http://127.0.0.1:8080
//! cargo run --example verify_token -- "$PARTICIPANT_TOKEN" --room cs101
//! ```
//!
//! The token is the first argument (or, left out, read from stdin); `--room ROOM` also
//! requires it to be a participant token for that room, as a media server admitting a
//! browser into one room would. Prints who the token admits and exits 0, or prints why it
//! is refused and exits 1. A real service builds the `Verifier` once at start and keeps
//! it: the keys are cached, and fetched again only when a token names a new one.
//!
//! An offline check cannot see revocation (a participant removed, a room ended): those
//! tokens verify until they expire, which is why participant tokens are short-lived.

use std::io::Read;
use std::process::ExitCode;

use chalk_sdk::tokens::{TokenKind, Verifier};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(admitted) => {
            println!("{admitted}");
            ExitCode::SUCCESS
        }
        Err(refusal) => {
            eprintln!("refused: {refusal}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<String, String> {
    let mut token = None;
    let mut room = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--room" => room = Some(args.next().ok_or("--room needs a room id")?),
            _ if token.is_none() => token = Some(arg),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let token = match token {
        Some(token) => token,
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read the token from stdin: {e}"))?;
            text.trim().to_owned()
        }
    };
    let server =
        std::env::var("CHALK_API_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());

    // Once per process in a real service: fetches the JWKS and caches it.
    let verifier = Verifier::new(&server)
        .await
        .map_err(|e| format!("cannot reach {server}: {e}"))?;
    let claims = verifier.verify(&token).await.map_err(|e| e.to_string())?;

    match claims.kind {
        TokenKind::Participant => {
            let token_room = claims.room_id.unwrap_or_default();
            if let Some(room) = room {
                let wanted = if room.starts_with("room_") {
                    room
                } else {
                    format!("room_{room}")
                };
                if token_room != wanted {
                    return Err(format!("the token is for {token_room}, not {wanted}"));
                }
            }
            let role = claims.role.map(|r| r.as_str()).unwrap_or("participant");
            Ok(format!(
                "admitted: participant {} to {token_room} as {role} (tenant {}), until {} (signed by key {})",
                claims.participant_id.unwrap_or_default(),
                claims.tenant_id,
                claims.expires_at.to_rfc3339(),
                claims.kid,
            ))
        }
        TokenKind::Access if room.is_some() => {
            Err("a tenant access token does not admit anyone to a room".to_owned())
        }
        _ => Ok(format!(
            "valid: access token of tenant {} with scopes [{}], until {} (signed by key {})",
            claims.tenant_id,
            claims
                .scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            claims.expires_at.to_rfc3339(),
            claims.kid,
        )),
    }
}
