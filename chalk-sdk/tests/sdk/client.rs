//! Building the client: credentials, headers, base URL, and no secret in `Debug`.

use chalk_sdk::{Client, ClientBuilder, Error};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const SECRETS: [&str; 4] = [
    MASTER_KEY,
    API_KEY,
    "access_tok_secret",
    "refresh_tok_secret",
];

fn assert_no_secret(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} leaked in {text}");
    }
}

#[test]
fn client_is_clone_send_sync_and_static() {
    fn check<T: Clone + Send + Sync + 'static>() {}
    check::<Client>();
    check::<ClientBuilder>();
    fn check_error<T: std::error::Error + Send + Sync + 'static>() {}
    check_error::<Error>();
}

#[test]
fn debug_of_builder_and_client_shows_no_secret() {
    let builders = [
        Client::builder().master_key(MASTER_KEY),
        Client::builder().api_key(API_KEY),
        Client::builder().api_key(API_KEY).token_mode(true),
        Client::builder().tokens("access_tok_secret", "refresh_tok_secret"),
    ];
    let kinds = ["master key", "api key", "api key (token mode)", "tokens"];
    for (builder, kind) in builders.into_iter().zip(kinds) {
        let debug = format!("{builder:?}");
        assert_no_secret(&debug);
        assert!(debug.contains("redacted"), "{debug}");
        let client = builder.build().unwrap();
        let debug = format!("{client:?}");
        assert_no_secret(&debug);
        assert!(
            debug.contains(&format!("credential: \"{kind}\"")),
            "{debug}"
        );
        assert!(debug.contains("127.0.0.1:8080"), "{debug}");
        let pretty = format!("{client:#?}");
        assert_no_secret(&pretty);
    }
}

#[test]
fn more_than_one_credential_is_refused() {
    let err = Client::builder()
        .master_key(MASTER_KEY)
        .api_key(API_KEY)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("master_key, api_key"), "{err}");
    assert_no_secret(&format!("{err:?}"));

    let err = Client::builder()
        .api_key(API_KEY)
        .tokens("a", "r")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[test]
fn token_mode_needs_an_api_key() {
    for builder in [
        Client::builder().token_mode(true),
        Client::builder().master_key(MASTER_KEY).token_mode(true),
    ] {
        let err = builder.build().unwrap_err();
        assert!(err.to_string().contains("token mode"), "{err}");
    }
}

#[test]
fn bad_builder_input_is_a_config_error() {
    for builder in [
        Client::builder().base_url("not a url"),
        Client::builder().base_url("ftp://example.com"),
        Client::builder().base_url("http://example.com/?q=1"),
        Client::builder().api_key("line\nbreak"),
        Client::builder().user_agent("bad\u{7f}agent"),
    ] {
        let err = builder.build().unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn default_user_agent_and_accept_are_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header(
            "user-agent",
            concat!("chalk-sdk/", env!("CARGO_PKG_VERSION")),
        ))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json"))))
        .expect(1)
        .mount(&server)
        .await;
    master(&server).tenants().current().await.unwrap();
}

#[tokio::test]
async fn a_custom_user_agent_and_http_client_are_used() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("user-agent", "provisioner/1.0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let http = reqwest::Client::builder().build().unwrap();
    let client = builder(&server)
        .http_client(http)
        .user_agent("provisioner/1.0")
        .master_key(MASTER_KEY)
        .build()
        .unwrap();
    client.tenants().current().await.unwrap();
}

#[tokio::test]
async fn a_base_url_path_prefix_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/chalk/api/v1/tenant"))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json"))))
        .expect(2)
        .mount(&server)
        .await;
    for base in [
        format!("{}/chalk", server.uri()),
        format!("{}/chalk/api/v1/", server.uri()),
    ] {
        let client = builder(&server).base_url(base).build().unwrap();
        client.tenants().current().await.unwrap();
    }
}

#[tokio::test]
async fn clones_share_one_configuration() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("x-api-key", API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(data(fixture("tenant.json"))))
        .expect(2)
        .mount(&server)
        .await;
    let client = tenant_key(&server);
    let clone = client.clone();
    drop(client);
    clone.tenants().current().await.unwrap();
    tokio::spawn(async move { clone.tenants().current().await })
        .await
        .unwrap()
        .unwrap();
}
