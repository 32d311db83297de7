//! docs/api.md Auth: API key → JWT exchange, single-use refresh tokens with reuse detection,
//! revocation, and every way an access token is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chalk_server::Policy;
use chalk_server::domain::signing::AccessClaims;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::common::*;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(tenant: &Tenant, typ: &str) -> AccessClaims {
    AccessClaims {
        iss: "chalk".into(),
        sub: tenant.id.clone(),
        key_id: tenant.key_id.clone(),
        scope: "tenant:read tenant:admin rooms:read rooms:write".into(),
        jti: "jti-test".into(),
        iat: now(),
        exp: now() + 600,
        typ: typ.into(),
    }
}

fn sign(claims: &AccessClaims, alg: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn token_exchanges_an_api_key_for_a_pair() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let response = app
        .post("/api/v1/auth/token")
        .json(json!({"api_key": acme.key}))
        .send()
        .await;
    response.assert_status(200);
    let data = &response.body["data"];
    assert_eq!(data["token_type"], "Bearer");
    assert_eq!(data["expires_in"], 3600);
    let access = data["access_token"].as_str().unwrap();
    let refresh = data["refresh_token"].as_str().unwrap();
    assert_ne!(access, refresh);

    // The claims docs/api.md lists.
    let claims = app.state.signer.verify_access(access).await.unwrap();
    assert_eq!(claims.iss, "chalk");
    assert_eq!(claims.sub, acme.id);
    assert_eq!(claims.key_id, acme.key_id);
    assert_eq!(claims.exp - claims.iat, 3600);
    assert!(!claims.jti.is_empty());
    let mut scopes: Vec<&str> = claims.scope.split(' ').collect();
    scopes.sort();
    assert_eq!(
        scopes,
        ["rooms:read", "rooms:write", "tenant:admin", "tenant:read"]
    );
    let header = access.split('.').next().unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    if hs256_mode() {
        assert_eq!(header["alg"], "HS256");
        assert!(header.get("kid").is_none());
    } else {
        // EdDSA by default, naming the current signing key.
        assert_eq!(header["alg"], "EdDSA");
        let keys = app.get("/.well-known/jwks.json").send().await;
        assert_eq!(header["kid"], keys.body["keys"][0]["kid"]);
    }

    let me = app.get("/api/v1/tenant").bearer(access).send().await;
    me.assert_status(200);
    assert_eq!(me.body["data"]["id"], acme.id.as_str());
}

#[tokio::test]
async fn token_lifetimes_follow_the_server_settings() {
    let app = test_app_with(Policy {
        access_token_ttl: 120,
        ..Policy::default()
    })
    .await;
    let acme = app.tenant("Acme").await;
    let response = app
        .post("/api/v1/auth/token")
        .json(json!({"api_key": acme.key}))
        .send()
        .await;
    assert_eq!(response.body["data"]["expires_in"], 120);
    let claims = app
        .state
        .signer
        .verify_access(response.body["data"]["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(claims.exp - claims.iat, 120);
}

#[tokio::test]
async fn token_refuses_bad_keys_and_bad_bodies() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    for key in ["sk_live_00000000000000000000000000000000", "nope", ""] {
        let response = app
            .post("/api/v1/auth/token")
            .json(json!({ "api_key": key }))
            .send()
            .await;
        response.assert_error(401, "UNAUTHORIZED");
        assert_eq!(response.message(), "Invalid API key");
    }
    for (body, field) in [
        (json!({}), "api_key"),
        (json!({"api_key": 5}), "api_key"),
        (json!({"api_key": acme.key, "scope": "all"}), "scope"),
    ] {
        let response = app.post("/api/v1/auth/token").json(body).send().await;
        response.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(response.fields(), [field]);
    }
    app.post("/api/v1/auth/token")
        .raw(format!("{{\"api_key\": \"{}\"}}", acme.key))
        .send()
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    app.post("/api/v1/auth/token")
        .header("Content-Type", "application/json")
        .raw("{\"api_key\":")
        .send()
        .await
        .assert_error(400, "INVALID_REQUEST");
}

#[tokio::test]
async fn an_expired_access_token_is_token_expired() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let expired =
        app.state
            .signer
            .mint_access(&acme.id, &acme.key_id, "tenant:read", now() - 7200, 3600);
    let response = app.get("/api/v1/tenant").bearer(&expired).send().await;
    response.assert_error(401, "TOKEN_EXPIRED");
    assert_eq!(response.message(), "Access token has expired");
}

#[tokio::test]
async fn forged_tampered_and_wrong_type_tokens_are_unauthorized() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let other = app.tenant("Other").await;
    let pair = app.token(&acme.key).await;
    let real = &pair.access;
    let parts: Vec<&str> = real.split('.').collect();

    // Payload swapped for another tenant's, signature kept.
    let forged_payload = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&AccessClaims {
            sub: other.id.clone(),
            ..claims(&acme, "access")
        })
        .unwrap(),
    );
    let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    // alg: none with no signature.
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{forged_payload}.");
    let mut bad_signature = real.clone();
    bad_signature.pop();
    bad_signature.push(if real.ends_with('A') { 'B' } else { 'A' });

    // Signed the way this server signs (its current key, or its secret in HS256 mode).
    let own = |claims: &AccessClaims| app.state.signer.sign(claims);
    let mut cases = vec![
        ("tampered payload", tampered),
        ("alg none", alg_none),
        ("bad signature", bad_signature),
        (
            "other secret",
            sign(
                &claims(&acme, "access"),
                Algorithm::HS256,
                "another-secret-of-enough-length-000",
            ),
        ),
        (
            "HS384",
            sign(&claims(&acme, "access"), Algorithm::HS384, JWT_SECRET),
        ),
        ("participant type", own(&claims(&acme, "participant"))),
        ("refresh type", own(&claims(&acme, "refresh"))),
        (
            "wrong issuer",
            own(&AccessClaims {
                iss: "evil".into(),
                ..claims(&acme, "access")
            }),
        ),
        (
            "key of another tenant",
            own(&AccessClaims {
                sub: other.id.clone(),
                ..claims(&acme, "access")
            }),
        ),
        (
            "unknown key",
            own(&AccessClaims {
                key_id: "key_nope".into(),
                ..claims(&acme, "access")
            }),
        ),
        ("refresh token as access token", pair.refresh.clone()),
        ("not a JWT", "abc.def".to_owned()),
    ];
    if !hs256_mode() {
        // Algorithm confusion: HS256 is refused under EdDSA, even with the right secret.
        cases.push((
            "HS256 under EdDSA",
            sign(&claims(&acme, "access"), Algorithm::HS256, JWT_SECRET),
        ));
    }
    for (what, token) in cases {
        let response = app.get("/api/v1/tenant").bearer(&token).send().await;
        assert_eq!(response.status, 401, "{what}: {}", response.text);
        response.assert_error(401, "UNAUTHORIZED");
    }
    // A correctly signed access token of our own is accepted (the cases above are not
    // refused for some unrelated reason).
    let good = own(&claims(&acme, "access"));
    app.get("/api/v1/tenant")
        .bearer(&good)
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn a_refresh_token_works_once_and_reuse_revokes_the_chain() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let first = app.token(&acme.key).await;
    let refresh = |token: String| {
        let app = &app;
        async move {
            app.post("/api/v1/auth/refresh")
                .json(json!({ "refresh_token": token }))
                .send()
                .await
        }
    };
    let response = refresh(first.refresh.clone()).await;
    response.assert_status(200);
    assert_eq!(response.body["data"]["token_type"], "Bearer");
    assert_eq!(response.body["data"]["expires_in"], 3600);
    let second = pair(&response.body);
    assert_ne!(second.refresh, first.refresh);
    app.get("/api/v1/tenant")
        .bearer(&second.access)
        .send()
        .await
        .assert_status(200);
    let response = refresh(second.refresh.clone()).await;
    response.assert_status(200);
    let third = pair(&response.body);

    // The first token again: reuse. It is refused and the whole chain dies with it.
    let response = refresh(first.refresh.clone()).await;
    response.assert_error(401, "INVALID_REFRESH_TOKEN");
    refresh(third.refresh.clone())
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
    refresh(second.refresh.clone())
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");

    // Another chain of the same key is untouched.
    let other_chain = app.token(&acme.key).await;
    refresh(other_chain.refresh).await.assert_status(200);
}

#[tokio::test]
async fn refresh_refuses_unknown_tokens_and_bad_bodies() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let pair = app.token(&acme.key).await;
    for token in ["rt_unknown", "", pair.access.as_str()] {
        app.post("/api/v1/auth/refresh")
            .json(json!({ "refresh_token": token }))
            .send()
            .await
            .assert_error(401, "INVALID_REFRESH_TOKEN");
    }
    let response = app
        .post("/api/v1/auth/refresh")
        .json(json!({}))
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(response.fields(), ["refresh_token"]);
    app.post("/api/v1/auth/refresh")
        .raw("refresh_token=x")
        .send()
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    // None of that spent the real token.
    app.post("/api/v1/auth/refresh")
        .json(json!({ "refresh_token": pair.refresh }))
        .send()
        .await
        .assert_status(200);
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    // A token whose lifetime ended a second ago, stored as `/auth/token` stores one.
    let token = "rt_expired_for_the_test";
    let mut db = app.state.store.begin().await.unwrap();
    chalk_server::store::refresh::insert(
        &mut db,
        &chalk_server::store::NewRefreshToken {
            token_hash: chalk_server::crypto::hash_secret(token),
            family_id: "fam_test".into(),
            tenant_id: acme.id.clone(),
            key_id: acme.key_id.clone(),
            created_at: now() - 100,
            expires_at: now() - 1,
        },
    )
    .await
    .unwrap();
    db.commit().await.unwrap();
    app.post("/api/v1/auth/refresh")
        .json(json!({ "refresh_token": token }))
        .send()
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
}

#[tokio::test]
async fn revoke_kills_the_chain_and_is_always_200() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let first = app.token(&acme.key).await;
    let response = app
        .post("/api/v1/auth/refresh")
        .json(json!({ "refresh_token": first.refresh }))
        .send()
        .await;
    let second = pair(&response.body);

    // Revoking the spent first token revokes its chain, the live successor included.
    let response = app
        .post("/api/v1/auth/revoke")
        .json(json!({ "token": first.refresh }))
        .send()
        .await;
    response.assert_status(200);
    assert_eq!(response.body, json!({"data": {"revoked": true}}));
    app.post("/api/v1/auth/refresh")
        .json(json!({ "refresh_token": second.refresh }))
        .send()
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");

    for token in ["rt_never_issued", "", second.refresh.as_str()] {
        let response = app
            .post("/api/v1/auth/revoke")
            .json(json!({ "token": token }))
            .send()
            .await;
        response.assert_status(200);
        assert_eq!(response.body, json!({"data": {"revoked": true}}));
    }
    let response = app
        .post("/api/v1/auth/revoke")
        .json(json!({ "refresh_token": "x" }))
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(response.fields(), ["refresh_token"]);
    app.post("/api/v1/auth/revoke")
        .raw("token=x")
        .send()
        .await
        .assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test]
async fn refresh_of_a_suspended_tenant_is_tenant_suspended() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let pair = app.token(&acme.key).await;
    app.post(&format!("/api/v1/tenants/{}/suspend", acme.id))
        .master()
        .send()
        .await
        .assert_status(200);
    app.post("/api/v1/auth/refresh")
        .json(json!({ "refresh_token": pair.refresh }))
        .send()
        .await
        .assert_error(403, "TENANT_SUSPENDED");
}

/// Regression (found by schemathesis): the token endpoints and the operations endpoints
/// take no credential, so a stray bad credential header must not fail them with an
/// undocumented 401.
#[tokio::test]
async fn endpoints_without_credentials_ignore_credential_headers() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    app.post("/api/v1/auth/token")
        .header("X-Master-Key", "wrong")
        .json(json!({"api_key": acme.key}))
        .send()
        .await
        .assert_status(200);
    app.post("/api/v1/auth/revoke")
        .key("sk_live_not_a_key")
        .json(json!({"token": "rt_x"}))
        .send()
        .await
        .assert_status(200);
    for path in ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"] {
        app.get(path)
            .key("sk_live_not_a_key")
            .master()
            .send()
            .await
            .assert_status(200);
    }
}
