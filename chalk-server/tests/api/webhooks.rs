//! docs/api.md Webhooks: endpoints (CRUD, rotate-secret, test), events written with the change
//! that caused them, the delivery log and manual retry. Sending is the delivery worker's
//! (tests/webhooks.rs); nothing sends here, so every delivery stays `pending`.

use chalk_server::Policy;
use chalk_server::net::webhook_target::TargetPolicy;
use serde_json::{Value, json};

use crate::common::*;

const RECEIVER: &str = "https://hooks.example.com/chalk";

fn endpoints_path(tenant: &Tenant) -> String {
    format!("/api/v1/tenants/{}/webhook-endpoints", tenant.id)
}

async fn create_endpoint(app: &TestApp, tenant: &Tenant, events: Value) -> Value {
    let response = app
        .post(&endpoints_path(tenant))
        .key(&tenant.key)
        .json(json!({"url": RECEIVER, "events": events}))
        .send()
        .await;
    response.assert_status(201);
    response.body["data"].clone()
}

/// Event types of the tenant, oldest first.
async fn event_types(app: &TestApp, tenant: &Tenant) -> Vec<String> {
    let response = app
        .get(&format!("/api/v1/tenants/{}/events?limit=200", tenant.id))
        .key(&tenant.key)
        .send()
        .await;
    response.assert_status(200);
    let mut types: Vec<String> = response.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    types.reverse();
    types
}

async fn deliveries(app: &TestApp, tenant: &Tenant, query: &str) -> Vec<Value> {
    let response = app
        .get(&format!(
            "/api/v1/tenants/{}/webhook-deliveries?limit=200{query}",
            tenant.id
        ))
        .key(&tenant.key)
        .send()
        .await;
    response.assert_status(200);
    response.body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn endpoints_show_their_secret_once_and_change_by_patch() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let created = create_endpoint(&app, &acme, json!(["room.ended", "room.ended"])).await;
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("we_"));
    let secret = created["secret"].as_str().unwrap();
    let key = base64_decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"));
    assert_eq!(key.len(), 32);
    assert_eq!(created["events"], json!(["room.ended"]), "deduplicated");
    assert_eq!(created["enabled"], true);

    let list = app.get(&endpoints_path(&acme)).key(&acme.key).send().await;
    list.assert_status(200);
    assert!(!list.text.contains(secret), "never shown again");
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    let path = format!("{}/{id}", endpoints_path(&acme));
    let got = app.get(&path).key(&acme.key).send().await;
    got.assert_status(200);
    assert!(!got.text.contains(secret));
    assert!(got.body["data"].get("secret").is_none());

    let patched = app
        .patch(&path)
        .key(&acme.key)
        .json(json!({"events": ["*"], "description": "ops", "enabled": false}))
        .send()
        .await;
    patched.assert_status(200);
    assert_eq!(patched.body["data"]["events"], json!(["*"]));
    assert_eq!(patched.body["data"]["description"], "ops");
    assert_eq!(patched.body["data"]["enabled"], false);
    assert_eq!(patched.body["data"]["url"], RECEIVER, "absent fields stay");
    let cleared = app
        .patch(&path)
        .key(&acme.key)
        .json(json!({"description": null}))
        .send()
        .await;
    cleared.assert_status(200);
    assert_eq!(cleared.body["data"]["description"], Value::Null);

    // Another tenant sees nothing.
    let other = app.tenant("Other").await;
    app.get(&format!("{}/{id}", endpoints_path(&other)))
        .key(&other.key)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.get(&path)
        .key(&other.key)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");

    app.delete(&path)
        .key(&acme.key)
        .send()
        .await
        .assert_status(200);
    app.get(&path)
        .key(&acme.key)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

#[tokio::test]
async fn bad_endpoints_are_refused_naming_every_field() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let response = app
        .post(&endpoints_path(&acme))
        .key(&acme.key)
        .json(json!({"url": "http://127.0.0.1:9/hook", "events": ["room.ended", "room.exploded"]}))
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(response.fields(), ["url", "events[1]"]);
    let response = app
        .post(&endpoints_path(&acme))
        .key(&acme.key)
        .json(json!({"url": "https://10.0.0.5/hook", "events": []}))
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(response.fields(), ["url", "events"]);
    assert!(response.text.contains("private") || response.text.contains("loopback"));
    let response = app
        .post(&endpoints_path(&acme))
        .key(&acme.key)
        .json(json!({"url": RECEIVER, "events": ["*"], "secret": "mine"}))
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(response.fields(), ["secret"]);
    let listed = app.get(&endpoints_path(&acme)).key(&acme.key).send().await;
    assert_eq!(listed.body["data"], json!([]), "nothing was created");

    // A private target is accepted once the operator allows it.
    let dev = test_app_with(Policy {
        webhook_targets: TargetPolicy {
            allow_private: true,
        },
        ..Policy::default()
    })
    .await;
    let acme = dev.tenant("Acme").await;
    dev.post(&endpoints_path(&acme))
        .key(&acme.key)
        .json(json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]}))
        .send()
        .await
        .assert_status(201);
}

/// Hardening rules: a target in any IANA special-purpose range is refused (422 naming
/// `url`) on create and on update, the ranges the attack run got through included, and
/// nothing is stored; the operator's `CHALK_WEBHOOK_ALLOW_PRIVATE` lets them through.
#[tokio::test]
async fn special_purpose_targets_are_refused_on_create_and_update() {
    const REFUSED: &[&str] = &[
        "https://[64:ff9b::a9fe:a9fe]/hook",
        "https://[64:ff9b:1::a9fe:a9fe]/hook",
        "https://[2002:a9fe:a9fe::1]/hook",
        "https://[fec0::1]/hook",
        "https://198.18.0.1/hook",
        "https://192.0.0.170/hook",
        "https://240.0.0.1/hook",
        "https://[2001:db8::1]/hook",
        "https://[::ffff:192.168.0.1]/hook",
    ];
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let endpoint = create_endpoint(&app, &acme, json!(["*"])).await;
    let path = format!(
        "{}/{}",
        endpoints_path(&acme),
        endpoint["id"].as_str().unwrap()
    );
    for url in REFUSED {
        let created = app
            .post(&endpoints_path(&acme))
            .key(&acme.key)
            .json(json!({"url": url, "events": ["*"]}))
            .send()
            .await;
        created.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(created.fields(), ["url"], "{url}");
        let updated = app
            .patch(&path)
            .key(&acme.key)
            .json(json!({"url": url}))
            .send()
            .await;
        updated.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(updated.fields(), ["url"], "{url}");
    }
    let listed = app.get(&endpoints_path(&acme)).key(&acme.key).send().await;
    let listed = listed.body["data"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1, "nothing was created");
    assert_eq!(listed[0]["url"], RECEIVER, "nothing was changed");

    let dev = test_app_with(Policy {
        webhook_targets: TargetPolicy {
            allow_private: true,
        },
        ..Policy::default()
    })
    .await;
    let acme = dev.tenant("Acme").await;
    for url in REFUSED {
        dev.post(&endpoints_path(&acme))
            .key(&acme.key)
            .json(json!({"url": url, "events": ["*"]}))
            .send()
            .await
            .assert_status(201);
        // At most ten endpoints per tenant: make room for the next one.
        let listed = dev.get(&endpoints_path(&acme)).key(&acme.key).send().await;
        let id = listed.body["data"][0]["id"].as_str().unwrap().to_owned();
        dev.delete(&format!("{}/{id}", endpoints_path(&acme)))
            .key(&acme.key)
            .send()
            .await
            .assert_status(200);
    }
}

#[tokio::test]
async fn at_most_ten_endpoints_even_when_created_at_once() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let creates = (0..14).map(|_| {
        app.post(&endpoints_path(&acme))
            .key(&acme.key)
            .json(json!({"url": RECEIVER, "events": ["*"]}))
            .send()
    });
    let responses = futures_util::future::join_all(creates).await;
    let created = responses.iter().filter(|r| r.status == 201).count();
    let refused = responses.iter().filter(|r| r.status == 409).count();
    assert_eq!((created, refused), (10, 4));
    let listed = app.get(&endpoints_path(&acme)).key(&acme.key).send().await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn rotate_secret_returns_a_new_secret_and_the_overlap() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let created = create_endpoint(&app, &acme, json!(["*"])).await;
    let path = format!(
        "{}/{}/rotate-secret",
        endpoints_path(&acme),
        created["id"].as_str().unwrap()
    );
    let rotated = app
        .post(&path)
        .key(&acme.key)
        .json(json!({"expire_previous_in_seconds": 3600}))
        .send()
        .await;
    rotated.assert_status(200);
    let secret = rotated.body["data"]["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_ne!(secret, created["secret"].as_str().unwrap());
    assert!(rotated.body["data"]["previous_secret_expires_at"].is_string());
    let immediate = app
        .post(&path)
        .key(&acme.key)
        .json(json!({"expire_previous_in_seconds": 0}))
        .send()
        .await;
    immediate.assert_status(200);
    assert_eq!(
        immediate.body["data"]["previous_secret_expires_at"],
        Value::Null
    );
    let bad = app
        .post(&path)
        .key(&acme.key)
        .json(json!({"expire_previous_in_seconds": 604801}))
        .send()
        .await;
    bad.assert_error(422, "VALIDATION_ERROR");
    assert_eq!(bad.fields(), ["expire_previous_in_seconds"]);
}

#[tokio::test]
async fn every_change_writes_its_events_and_a_delivery_per_subscribed_endpoint() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let all = create_endpoint(&app, &acme, json!(["*"])).await;
    let ended_only = create_endpoint(&app, &acme, json!(["room.ended"])).await;
    let disabled = create_endpoint(&app, &acme, json!(["*"])).await;
    app.patch(&format!(
        "{}/{}",
        endpoints_path(&acme),
        disabled["id"].as_str().unwrap()
    ))
    .key(&acme.key)
    .json(json!({"enabled": false}))
    .send()
    .await
    .assert_status(200);

    let room = app
        .post("/api/v1/rooms")
        .key(&acme.key)
        .json(json!({"id": "cs101"}))
        .send()
        .await;
    room.assert_status(201);
    let joined = app
        .post("/api/v1/rooms/cs101/participants")
        .key(&acme.key)
        .json(json!({"display_name": "Ada", "role": "host"}))
        .send()
        .await;
    joined.assert_status(201);
    let pid = joined.body["data"]["participant"]["id"].as_str().unwrap();
    app.post("/api/v1/rooms/cs101/participants")
        .key(&acme.key)
        .json(json!({"display_name": "Bob", "role": "participant"}))
        .send()
        .await
        .assert_status(201);
    app.delete(&format!("/api/v1/rooms/cs101/participants/{pid}"))
        .key(&acme.key)
        .send()
        .await
        .assert_status(200);
    app.post("/api/v1/rooms/cs101/end")
        .key(&acme.key)
        .send()
        .await
        .assert_status(200);
    // Ending it again changes nothing and writes nothing.
    app.post("/api/v1/rooms/cs101/end")
        .key(&acme.key)
        .send()
        .await
        .assert_status(200);
    app.patch(&format!("/api/v1/tenants/{}", acme.id))
        .key(&acme.key)
        .json(json!({"name": "Acme Corp"}))
        .send()
        .await
        .assert_status(200);
    app.patch(&format!("/api/v1/tenants/{}/config", acme.id))
        .key(&acme.key)
        .json(json!({"force_recording": true, "post_meeting_webhook": {
            "enabled": false, "url": "https://lms.example.edu/chalk",
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}))
        .send()
        .await
        .assert_status(200);
    let (scoped_secret, key_id) = app.scoped_key(&acme, &["rooms:read"]).await;
    app.delete(&format!("/api/v1/tenants/{}/api-keys/{key_id}", acme.id))
        .key(&acme.key)
        .send()
        .await
        .assert_status(200);
    app.post(&format!("/api/v1/tenants/{}/suspend", acme.id))
        .master()
        .send()
        .await
        .assert_status(200);
    // Suspending a suspended tenant is no change.
    app.post(&format!("/api/v1/tenants/{}/suspend", acme.id))
        .master()
        .send()
        .await
        .assert_status(200);
    app.post(&format!("/api/v1/tenants/{}/resume", acme.id))
        .master()
        .send()
        .await
        .assert_status(200);
    let rotated = app
        .post(&format!("/api/v1/tenants/{}/rotate-key", acme.id))
        .master()
        .send()
        .await;
    rotated.assert_status(200);
    let key = rotated.body["data"]["api_key"].as_str().unwrap().to_owned();
    let acme = Tenant { key, ..acme };

    let expected = [
        "room.created",
        "room.started",
        "participant.joined",
        "participant.joined",
        "participant.left",
        "room.ended",
        "meeting.ended",
        "tenant.updated",
        "tenant.config_updated",
        "api_key.created",
        "api_key.revoked",
        "tenant.suspended",
        "tenant.resumed",
        "api_key.rotated",
    ];
    assert_eq!(event_types(&app, &acme).await, expected);

    let events = app
        .get(&format!("/api/v1/tenants/{}/events?limit=200", acme.id))
        .key(&acme.key)
        .send()
        .await;
    for secret in [
        acme.key.as_str(),
        scoped_secret.as_str(),
        all["secret"].as_str().unwrap(),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ] {
        assert!(!events.text.contains(secret), "no secret in any event");
    }
    assert!(events.text.contains("****"), "the config's secrets masked");
    for event in events.body["data"].as_array().unwrap() {
        assert!(event["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(event["tenant_id"], acme.id.as_str());
        assert!(event["created_at"].is_string() && event["data"].is_object());
    }
    let meeting = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "meeting.ended")
        .unwrap();
    let attendance = meeting["data"]["attendance"].as_array().unwrap();
    assert_eq!(attendance.len(), 2);
    assert_eq!(attendance[0]["display_name"], "Ada");
    assert_eq!(meeting["data"]["room"]["id"], "room_cs101");
    assert_eq!(meeting["data"]["room"]["status"], "ended");

    let to_all = deliveries(
        &app,
        &acme,
        &format!("&endpoint_id={}", all["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(to_all.len(), expected.len(), "one per event");
    assert!(to_all.iter().all(|d| d["status"] == "pending"
        && d["attempts"] == json!([])
        && d["next_attempt_at"].is_string()));
    let to_ended = deliveries(
        &app,
        &acme,
        &format!("&endpoint_id={}", ended_only["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(to_ended.len(), 1);
    assert_eq!(to_ended[0]["event_type"], "room.ended");
    let to_disabled = deliveries(
        &app,
        &acme,
        &format!("&endpoint_id={}", disabled["id"].as_str().unwrap()),
    )
    .await;
    assert!(to_disabled.is_empty(), "a disabled endpoint gets nothing");

    // Filters.
    let ended = app
        .get(&format!(
            "/api/v1/tenants/{}/events?type=room.ended",
            acme.id
        ))
        .key(&acme.key)
        .send()
        .await;
    ended.assert_status(200);
    assert_eq!(ended.body["data"].as_array().unwrap().len(), 1);
    let event_id = ended.body["data"][0]["id"].as_str().unwrap();
    let by_event = deliveries(&app, &acme, &format!("&event_id={event_id}")).await;
    assert_eq!(by_event.len(), 2, "to `*` and to room.ended");
    assert!(
        deliveries(&app, &acme, "&status=succeeded")
            .await
            .is_empty()
    );
    app.get(&format!(
        "/api/v1/tenants/{}/events?type=room.nope",
        acme.id
    ))
    .key(&acme.key)
    .send()
    .await
    .assert_error(400, "INVALID_REQUEST");
}

#[tokio::test]
async fn events_page_newest_first() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    for n in 0..5 {
        app.post("/api/v1/rooms")
            .key(&acme.key)
            .json(json!({"id": format!("room{n}")}))
            .send()
            .await
            .assert_status(201);
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(&format!(
                "/api/v1/tenants/{}/events?limit=2&cursor={cursor}",
                acme.id
            ))
            .key(&acme.key)
            .send()
            .await;
        page.assert_status(200);
        for event in page.body["data"].as_array().unwrap() {
            seen.push(event["data"]["id"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "room_room4",
            "room_room3",
            "room_room2",
            "room_room1",
            "room_room0"
        ]
    );
}

#[tokio::test]
async fn a_change_that_fails_at_any_step_leaves_no_event() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    create_endpoint(&app, &acme, json!(["*"])).await;
    let faults = app.state.store.faults();
    let mut step = 0;
    loop {
        faults.fail_step(step);
        let response = app
            .post("/api/v1/rooms")
            .key(&acme.key)
            .json(json!({"id": "cs101"}))
            .send()
            .await;
        faults.disarm();
        if response.status == 201 {
            break;
        }
        response.assert_error(503, "UNAVAILABLE");
        assert!(event_types(&app, &acme).await.is_empty(), "step {step}");
        assert!(deliveries(&app, &acme, "").await.is_empty(), "step {step}");
        step += 1;
        assert!(step < 50, "the create never succeeded");
    }
    assert_eq!(event_types(&app, &acme).await, ["room.created"]);
    assert_eq!(deliveries(&app, &acme, "").await.len(), 1);
}

#[tokio::test]
async fn post_meeting_webhook_gets_meeting_ended_with_the_chosen_sections() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    app.patch(&format!("/api/v1/tenants/{}/config", acme.id))
        .key(&acme.key)
        .json(json!({"post_meeting_webhook": {
            "enabled": true, "url": "https://lms.example.edu/chalk",
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "include_transcript": true}}))
        .send()
        .await
        .assert_status(200);
    app.post("/api/v1/rooms")
        .key(&acme.key)
        .json(json!({"id": "cs101"}))
        .send()
        .await
        .assert_status(201);
    // An empty room ended by the sweeper (its timeout, 30 minutes, long past).
    let ended = chalk_server::workers::room_sweeper::sweep(
        &app.state,
        chrono::Utc::now().timestamp() + 3600,
    )
    .await
    .unwrap();
    assert_eq!(ended, 1);
    let types = event_types(&app, &acme).await;
    assert_eq!(types[types.len() - 2..], ["room.ended", "meeting.ended"]);
    let meeting = app
        .get(&format!(
            "/api/v1/tenants/{}/events?type=meeting.ended",
            acme.id
        ))
        .key(&acme.key)
        .send()
        .await;
    let data = &meeting.body["data"][0]["data"];
    assert_eq!(data["attendance"], json!([]));
    assert_eq!(data["transcript"], Value::Null);
    assert!(data.as_object().unwrap().contains_key("transcript"));
    for absent in ["recording", "summary", "action_items"] {
        assert!(!data.as_object().unwrap().contains_key(absent), "{absent}");
    }
    let to_hook = deliveries(&app, &acme, "&status=pending").await;
    let hook: Vec<_> = to_hook
        .iter()
        .filter(|d| d["endpoint_id"].is_null())
        .collect();
    assert_eq!(hook.len(), 1);
    assert_eq!(hook[0]["event_type"], "meeting.ended");
}

#[tokio::test]
async fn retry_is_for_failed_or_exhausted_deliveries() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let endpoint = create_endpoint(&app, &acme, json!(["*"])).await;
    let test = app
        .post(&format!(
            "{}/{}/test",
            endpoints_path(&acme),
            endpoint["id"].as_str().unwrap()
        ))
        .key(&acme.key)
        .send()
        .await;
    test.assert_status(202);
    let delivery_id = test.body["data"]["delivery_id"].as_str().unwrap();
    assert_eq!(event_types(&app, &acme).await, ["webhook.test"]);
    let retry = |id: String| {
        app.post(&format!(
            "/api/v1/tenants/{}/webhook-deliveries/{id}/retry",
            acme.id
        ))
        .key(&acme.key)
        .send()
    };
    retry(delivery_id.to_owned())
        .await
        .assert_error(409, "CONFLICT");
    retry("whd_nope".to_owned())
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn api_key_expiring_is_written_once_per_horizon() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    create_endpoint(&app, &acme, json!(["api_key.expiring"])).await;
    let now = chrono::Utc::now();
    let mut ids = Vec::new();
    for (name, hours) in [("in-3-days", 72), ("in-12-hours", 12), ("in-30-days", 720)] {
        let response = app
            .post(&format!("/api/v1/tenants/{}/api-keys", acme.id))
            .key(&acme.key)
            .json(json!({"name": name, "scopes": ["rooms:read"],
                "expires_at": (now + chrono::Duration::hours(hours)).format("%Y-%m-%dT%H:%M:%SZ").to_string()}))
            .send()
            .await;
        response.assert_status(201);
        ids.push(response.body["data"]["key_id"].as_str().unwrap().to_owned());
    }
    let scan = |at: i64| chalk_server::domain::events::record_expiring_keys(&app.state.store, at);
    assert_eq!(scan(now.timestamp()).await.unwrap(), 2);
    assert_eq!(scan(now.timestamp()).await.unwrap(), 0, "once each");
    // Two and a half days on, the first key is within a day of its end.
    assert_eq!(scan(now.timestamp() + 60 * 3600).await.unwrap(), 1);
    let events = app
        .get(&format!(
            "/api/v1/tenants/{}/events?type=api_key.expiring",
            acme.id
        ))
        .key(&acme.key)
        .send()
        .await;
    let mut notices: Vec<(String, String)> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["data"]["api_key"]["id"].as_str().unwrap().to_owned(),
                e["data"]["expires_in"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    notices.sort();
    let mut expected = vec![
        (ids[0].clone(), "7d".to_owned()),
        (ids[0].clone(), "1d".to_owned()),
        (ids[1].clone(), "1d".to_owned()),
    ];
    expected.sort();
    assert_eq!(notices, expected);
    assert_eq!(
        deliveries(&app, &acme, "").await.len(),
        3,
        "each delivered to the subscribed endpoint"
    );
}
