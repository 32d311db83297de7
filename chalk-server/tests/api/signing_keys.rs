//! docs/api.md "Signing keys": EdDSA tokens naming their key, the public JWKS any service can
//! verify with, rotation with overlap, and the tokens that must be refused.

use std::sync::Arc;

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chalk_server::Policy;
use chalk_server::crypto::Sealer;
use chalk_server::domain::signing::{AccessClaims, TokenSigner};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::*;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn segment(token: &str, index: usize) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(token.split('.').nth(index).expect("three segments"))
        .expect("base64url")
}

fn header(token: &str) -> Value {
    serde_json::from_slice(&segment(token, 0)).unwrap()
}

fn payload(token: &str) -> Value {
    serde_json::from_slice(&segment(token, 1)).unwrap()
}

/// Verifies `token` from the JWKS alone, with aws-lc-rs's Ed25519 directly (no JOSE
/// library): finds the key by `kid`, checks `alg`, and the signature over
/// `header.payload`.
fn verify_with_jwks(jwks: &Value, token: &str) -> bool {
    let head = header(token);
    if head["alg"] != "EdDSA" {
        return false;
    }
    let Some(jwk) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == head["kid"])
    else {
        return false;
    };
    assert_eq!(
        (&jwk["kty"], &jwk["crv"], &jwk["alg"], &jwk["use"]),
        (
            &json!("OKP"),
            &json!("Ed25519"),
            &json!("EdDSA"),
            &json!("sig")
        )
    );
    let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    assert_eq!(x.len(), 32, "an Ed25519 public key is 32 bytes");
    let (signing_input, _) = token.rsplit_once('.').unwrap();
    UnparsedPublicKey::new(&ED25519, &x)
        .verify(signing_input.as_bytes(), &segment(token, 2))
        .is_ok()
}

async fn jwks(app: &TestApp) -> Value {
    let response = app.get("/.well-known/jwks.json").send().await;
    response.assert_status(200);
    assert_eq!(
        response.header("cache-control"),
        Some("public, max-age=300")
    );
    response.body
}

/// A participant's access token in a fresh room of `tenant`.
async fn participant_token(app: &TestApp, tenant: &Tenant, room: &str) -> String {
    app.post("/api/v1/rooms")
        .key(&tenant.key)
        .json(json!({"id": room, "name": "Standup"}))
        .send()
        .await
        .assert_status(201);
    let joined = app
        .post(&format!("/api/v1/rooms/{room}/participants"))
        .key(&tenant.key)
        .json(json!({"display_name": "Ada", "role": "host"}))
        .send()
        .await;
    joined.assert_status(201);
    joined.body["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_jwks_alone_verifies_a_participant_token() {
    if hs256_mode() {
        return;
    }
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let token = participant_token(&app, &acme, "standup").await;
    let keys = jwks(&app).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    let head = header(&token);
    assert_eq!(head["alg"], "EdDSA");
    assert_eq!(head["kid"], keys["keys"][0]["kid"]);
    assert!(verify_with_jwks(&keys, &token));
    let claims = payload(&token);
    assert_eq!(claims["tid"], acme.id.as_str());
    assert_eq!(claims["rid"], "room_standup");
    assert_eq!(claims["role"], "host");

    // A changed payload no longer verifies.
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged_claims = claims.clone();
    forged_claims["rid"] = json!("room_other");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged_claims.to_string()),
        parts[2]
    );
    assert!(!verify_with_jwks(&keys, &forged));

    // Access tokens name the key too; the listing shows it current, without secrets.
    let pair = app.token(&acme.key).await;
    assert!(verify_with_jwks(&keys, &pair.access));
    let listed = app.get("/api/v1/signing-keys").master().send().await;
    listed.assert_status(200);
    let data = listed.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["kid"], head["kid"]);
    assert_eq!(data[0]["status"], "current");
    assert_eq!(data[0]["algorithm"], "EdDSA");
    assert!(data[0].get("retires_at").is_none());
    assert_eq!(
        data[0].as_object().unwrap().len(),
        4,
        "kid, algorithm, status, created_at only: {}",
        data[0]
    );
}

#[tokio::test]
async fn after_a_rotation_old_tokens_still_work_and_new_ones_carry_the_new_kid() {
    if hs256_mode() {
        return;
    }
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let old_access = app.token(&acme.key).await.access;
    let old_participant = participant_token(&app, &acme, "standup").await;
    let old_kid = header(&old_access)["kid"].clone();

    // Only the operator rotates.
    app.post("/api/v1/signing-keys/rotate")
        .key(&acme.key)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.post("/api/v1/signing-keys/rotate")
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
    app.get("/api/v1/signing-keys")
        .bearer(&old_access)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");

    let rotated = app
        .post("/api/v1/signing-keys/rotate")
        .master()
        .send()
        .await;
    rotated.assert_status(200);
    let new_kid = rotated.body["data"]["kid"].clone();
    assert_ne!(new_kid, old_kid);
    assert_eq!(rotated.body["data"]["status"], "current");

    // The old key is previous until every token it signed has expired.
    let listed = app.get("/api/v1/signing-keys").master().send().await;
    let data = listed.body["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 2);
    assert_eq!(
        (&data[0]["kid"], &data[0]["status"]),
        (&new_kid, &json!("current"))
    );
    assert_eq!(
        (&data[1]["kid"], &data[1]["status"]),
        (&old_kid, &json!("previous"))
    );
    let retires_at = chrono::DateTime::parse_from_rfc3339(data[1]["retires_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    let longest = Policy::default().refresh_token_ttl;
    assert!(
        (now() + longest..=now() + longest + 120).contains(&retires_at),
        "retires_at {retires_at} is not about the refresh token lifetime from now"
    );
    let keys = jwks(&app).await;
    let kids: Vec<&Value> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["kid"])
        .collect();
    assert_eq!(kids, [&new_kid, &old_kid]);

    // Tokens signed before the rotation keep working, and still verify offline.
    app.get("/api/v1/tenant")
        .bearer(&old_access)
        .send()
        .await
        .assert_status(200);
    app.get("/api/v1/rooms/standup")
        .bearer(&old_participant)
        .send()
        .await
        .assert_status(200);
    assert!(verify_with_jwks(&keys, &old_participant));

    // New tokens name the new key.
    let new_access = app.token(&acme.key).await.access;
    assert_eq!(header(&new_access)["kid"], new_kid);
    assert!(verify_with_jwks(&keys, &new_access));
    app.get("/api/v1/tenant")
        .bearer(&new_access)
        .send()
        .await
        .assert_status(200);
    let new_participant = participant_token(&app, &acme, "retro").await;
    assert_eq!(header(&new_participant)["kid"], new_kid);
}

fn access_claims(tenant: &Tenant) -> AccessClaims {
    AccessClaims {
        iss: "chalk".into(),
        sub: tenant.id.clone(),
        key_id: tenant.key_id.clone(),
        scope: "tenant:read".into(),
        jti: "jti-test".into(),
        iat: now(),
        exp: now() + 600,
        typ: "access".into(),
    }
}

#[tokio::test]
async fn tokens_signed_by_an_unknown_key_or_with_another_algorithm_are_refused() {
    if hs256_mode() {
        return;
    }
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let real_kid = jwks(&app).await["keys"][0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();

    // A well-formed Ed25519 key that is not the server's.
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let stranger = EncodingKey::from_ed_der(pkcs8.as_ref());
    let x = URL_SAFE_NO_PAD.encode(
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
            .unwrap()
            .public_key()
            .as_ref(),
    );
    let eddsa = |kid: &str, key: &EncodingKey| {
        let mut head = Header::new(Algorithm::EdDSA);
        head.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&head, &access_claims(&acme), key).unwrap()
    };
    let hs256 = |kid: Option<&str>| {
        let mut head = Header::new(Algorithm::HS256);
        head.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(
            &head,
            &access_claims(&acme),
            &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .unwrap()
    };
    let none_header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{real_kid}"}}"#));
    let none_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&access_claims(&acme)).unwrap());
    // The server's own key used as an HMAC secret (algorithm confusion on the public key).
    let public_as_secret = {
        let mut head = Header::new(Algorithm::HS256);
        head.kid = Some(real_kid.clone());
        let public = jwks(&app).await["keys"][0]["x"]
            .as_str()
            .unwrap()
            .to_owned();
        jsonwebtoken::encode(
            &head,
            &access_claims(&acme),
            &EncodingKey::from_secret(public.as_bytes()),
        )
        .unwrap()
    };
    let cases = [
        (
            "unknown key, its own kid",
            eddsa(&chalk_server::domain::signing::thumbprint(&x), &stranger),
        ),
        (
            "unknown key claiming the real kid",
            eddsa(&real_kid, &stranger),
        ),
        ("no kid", {
            let head = Header::new(Algorithm::EdDSA);
            jsonwebtoken::encode(&head, &access_claims(&acme), &stranger).unwrap()
        }),
        ("HS256 with CHALK_JWT_SECRET", hs256(None)),
        (
            "HS256 with CHALK_JWT_SECRET and the real kid",
            hs256(Some(&real_kid)),
        ),
        ("HS256 keyed with the public key", public_as_secret),
        ("alg none", format!("{none_header}.{none_payload}.")),
    ];
    for (what, token) in cases {
        let response = app.get("/api/v1/tenant").bearer(&token).send().await;
        assert_eq!(response.status, 401, "{what}: {}", response.text);
        response.assert_error(401, "UNAUTHORIZED");
    }
    // The same claims signed by the server's key are accepted.
    app.get("/api/v1/tenant")
        .bearer(&app.state.signer.sign(&access_claims(&acme)))
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn hs256_mode_has_no_signing_keys_and_refuses_eddsa_tokens() {
    let app = test_app_hs256().await;
    let keys = app.get("/.well-known/jwks.json").send().await;
    keys.assert_status(200);
    assert_eq!(keys.body, json!({"keys": []}));
    let listed = app.get("/api/v1/signing-keys").master().send().await;
    listed.assert_status(200);
    assert_eq!(listed.body["data"], json!([]));
    app.post("/api/v1/signing-keys/rotate")
        .master()
        .send()
        .await
        .assert_error(409, "CONFLICT");

    let acme = app.tenant("Acme").await;
    let own = app.token(&acme.key).await.access;
    assert_eq!(header(&own)["alg"], "HS256");
    app.get("/api/v1/tenant")
        .bearer(&own)
        .send()
        .await
        .assert_status(200);
    // An EdDSA token, even from a key kept in this very store, is refused.
    let sealer = Sealer::from_base64(&Sealer::generate_key_base64()).unwrap();
    let eddsa = TokenSigner::ed_dsa(Arc::clone(&app.state.store), sealer)
        .await
        .unwrap()
        .sign(&access_claims(&acme));
    app.get("/api/v1/tenant")
        .bearer(&eddsa)
        .send()
        .await
        .assert_error(401, "UNAUTHORIZED");
}
