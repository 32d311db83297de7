//! Signing keys end to end: a real server, the SDK's `signing_keys()` and its offline
//! `tokens::Verifier`.

use std::time::Duration;

use chalk_sdk::Error;
use chalk_sdk::model::{
    AddParticipantRequest, CreateRoomRequest, ErrorCode, ParticipantRole, Scope, SigningKeyStatus,
};
use chalk_sdk::tokens::{TokenKind, Verifier, VerifyError};

use crate::common::TestServer;
use crate::support::{anonymous, create_tenant, master, with_key};

#[tokio::test]
async fn the_verifier_checks_tokens_offline_and_follows_a_rotation() {
    let server = TestServer::start().await;
    let operator = master(&server);
    let created = create_tenant(&server, "Acme University").await;
    let tenant = with_key(&server, &created.api_key);
    tenant
        .rooms()
        .create(&CreateRoomRequest {
            id: Some("cs101".into()),
            ..CreateRoomRequest::named("CS101")
        })
        .await
        .unwrap();
    let joined = tenant
        .rooms()
        .participants("cs101")
        .add(&AddParticipantRequest::new("Ada", ParticipantRole::Host))
        .await
        .unwrap();

    let keys = operator.signing_keys().list().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].status, SigningKeyStatus::Current);
    let first_kid = keys[0].kid.clone();

    // A refetch interval of zero: the test need not wait a minute after the rotation.
    let verifier = Verifier::with_refetch_interval(&server.base_url, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(verifier.known_kids(), vec![first_kid.clone()]);
    let claims = verifier.verify(joined.access_token.expose()).await.unwrap();
    assert_eq!(claims.kind, TokenKind::Participant);
    assert_eq!(claims.tenant_id, created.tenant.id);
    assert_eq!(claims.room_id.as_deref(), Some("room_cs101"));
    assert_eq!(
        claims.participant_id.as_deref(),
        Some(joined.participant.id.as_str())
    );
    assert_eq!(claims.role, Some(ParticipantRole::Host));
    assert_eq!(claims.kid, first_kid);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(claims.expires_at.timestamp() > now);
    assert!(claims.issued_at < claims.expires_at);

    // A tenant access token: its scopes and key.
    let pair = anonymous(&server)
        .auth()
        .token(created.api_key.clone())
        .await
        .unwrap();
    let access = verifier.verify(pair.access_token.expose()).await.unwrap();
    assert_eq!(access.kind, TokenKind::Access);
    assert_eq!(access.tenant_id, created.tenant.id);
    assert_eq!(access.scopes.len(), Scope::ALL.len());
    assert_eq!(access.key_id.as_deref(), Some(created.key_id.as_str()));

    // What must be refused: a refresh token, a tampered token, not a JWT at all.
    let refresh = verifier.verify(joined.refresh_token.expose()).await;
    assert!(
        matches!(refresh, Err(VerifyError::Invalid(_))),
        "{refresh:?}"
    );
    let mut tampered = joined.access_token.expose().to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert!(matches!(
        verifier.verify(&tampered).await,
        Err(VerifyError::Invalid(_))
    ));
    assert!(matches!(
        verifier.verify("sk_live_nope").await,
        Err(VerifyError::Invalid(_))
    ));

    // Only the operator rotates.
    let refused = tenant.signing_keys().rotate().await.unwrap_err();
    assert!(
        matches!(
            &refused,
            Error::Api {
                code: ErrorCode::Forbidden,
                ..
            }
        ),
        "{refused:?}"
    );
    let rotated = operator.signing_keys().rotate().await.unwrap();
    assert_ne!(rotated.kid, first_kid);
    let keys = operator.signing_keys().list().await.unwrap();
    assert_eq!(
        keys.iter()
            .map(|k| (k.kid.clone(), k.status))
            .collect::<Vec<_>>(),
        [
            (rotated.kid.clone(), SigningKeyStatus::Current),
            (first_kid.clone(), SigningKeyStatus::Previous)
        ]
    );
    assert!(keys[1].retires_at.is_some());

    // The old token still verifies; a new one names the new key, which the verifier
    // fetches when it first meets it.
    verifier.verify(joined.access_token.expose()).await.unwrap();
    let renewed = tenant
        .rooms()
        .participants("cs101")
        .token(&joined.participant.id)
        .await
        .unwrap();
    let claims = verifier
        .verify(renewed.access_token.expose())
        .await
        .unwrap();
    assert_eq!(claims.kid, rotated.kid);
    let mut kids = vec![first_kid, rotated.kid];
    kids.sort();
    assert_eq!(verifier.known_kids(), kids);
}

#[tokio::test]
async fn an_unknown_kid_is_refetched_at_most_once_per_interval() {
    let server = TestServer::start().await;
    let operator = master(&server);
    let created = create_tenant(&server, "Acme").await;
    let verifier = Verifier::new(&server.base_url).await.unwrap();
    operator.signing_keys().rotate().await.unwrap();
    let pair = anonymous(&server)
        .auth()
        .token(created.api_key)
        .await
        .unwrap();
    // Fetched less than a minute ago: the new key is not looked up yet.
    let unknown = verifier.verify(pair.access_token.expose()).await;
    assert!(
        matches!(&unknown, Err(VerifyError::UnknownKey(Some(_)))),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn an_hs256_server_publishes_no_keys_and_its_tokens_do_not_verify() {
    let server = TestServer::start_with(&["--jwt-algorithm", "HS256"]).await;
    let created = create_tenant(&server, "Acme").await;
    assert!(
        master(&server)
            .signing_keys()
            .list()
            .await
            .unwrap()
            .is_empty()
    );
    let verifier = Verifier::new(&server.base_url).await.unwrap();
    assert!(verifier.known_kids().is_empty());
    let pair = anonymous(&server)
        .auth()
        .token(created.api_key)
        .await
        .unwrap();
    let refused = verifier.verify(pair.access_token.expose()).await;
    assert!(
        matches!(refused, Err(VerifyError::Invalid(_))),
        "{refused:?}"
    );
}
