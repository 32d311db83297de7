//! Usage metering through the router: who may read what, the range rules, the operator
//! export (page, CSV, NDJSON) and the purge after deletion. Exactness to the second, with
//! chosen instants, is in `tests/rooms/metering.rs`.

use serde_json::{Value, json};

use crate::common::*;

async fn join(app: &TestApp, key: &str, room: &str, name: &str) -> Value {
    let response = app
        .post(&format!("/api/v1/rooms/{room}/participants"))
        .key(key)
        .json(json!({"display_name": name}))
        .send()
        .await;
    response.assert_status(201);
    response.body["data"].clone()
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

#[tokio::test]
async fn a_tenant_reads_its_usage_in_progress_and_nobody_elses() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let globex = app.tenant("Globex").await;
    join(&app, &acme.key, "usage-1", "Ada").await;
    join(&app, &acme.key, "usage-1", "Bob").await;

    // `to` pinned to the end of the current hour, so an hour turning mid-test changes
    // nothing.
    let now = chrono::Utc::now();
    let path = format!(
        "/api/v1/tenants/{}/usage?granularity=hour&from={}&to={}",
        acme.id,
        now.format("%Y-%m-%d"),
        (now + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:00:00Z")
    );
    let response = app.get(&path).key(&acme.key).send().await;
    response.assert_status(200);
    let data = response.body["data"].as_array().unwrap();
    let hours_so_far = now.format("%H").to_string().parse::<usize>().unwrap() + 1;
    assert_eq!(
        data.len(),
        hours_so_far,
        "every hour of today up to the current one"
    );
    let totals = &response.body["totals"];
    assert_eq!(totals["participants_joined"], 2);
    assert_eq!(totals["rooms_created"], 1);
    // Both are still present: the hour in progress shows them.
    assert_eq!(totals["peak_participants"], 2);
    assert_eq!(data.last().unwrap()["peak_participants"], 2);
    for field in [
        "participant_seconds",
        "room_seconds",
        "token_exchanges",
        "api_requests",
        "webhook_deliveries",
        "webhook_failures",
    ] {
        assert!(totals[field].is_i64(), "{field}");
    }
    // Periods with no use are zeros.
    if data.len() > 1 {
        assert_eq!(data[0]["participants_joined"], 0);
    }

    // The master key reads it too; another tenant gets 404, as for a tenant that is not.
    app.get(&path).master().send().await.assert_status(200);
    app.get(&path)
        .key(&globex.key)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    let (read_key, _) = app.scoped_key(&acme, &["rooms:read"]).await;
    app.get(&path)
        .key(&read_key)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.get("/api/v1/tenants/tenant_nope/usage")
        .master()
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    // Globex used nothing: its month is all zeros.
    let response = app
        .get(&format!("/api/v1/tenants/{}/usage", globex.id))
        .key(&globex.key)
        .send()
        .await;
    response.assert_status(200);
    assert_eq!(response.body["totals"]["participants_joined"], 0);
    assert_eq!(response.body["totals"]["participant_seconds"], 0);
}

#[tokio::test]
async fn bad_ranges_are_422_naming_the_field() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let base = format!("/api/v1/tenants/{}/usage", acme.id);
    let cases = [
        ("?granularity=week", vec!["granularity"]),
        ("?from=yesterday", vec!["from"]),
        ("?from=2026-12-05&to=2026-12-01", vec!["to"]),
        (
            "?from=2026-01-01&to=2026-02-02&granularity=hour",
            vec!["to"],
        ),
        ("?from=2020-01&to=2026-01&granularity=month", vec!["to"]),
        (
            "?from=nope&to=never&granularity=minute",
            vec!["granularity", "from", "to"],
        ),
    ];
    for (query, fields) in cases {
        let response = app.get(&format!("{base}{query}")).master().send().await;
        response.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(response.fields(), fields, "{query}");
    }
    app.get(&format!("{base}?form=2026-12-01"))
        .master()
        .send()
        .await
        .assert_error(400, "INVALID_REQUEST");
    app.get(&format!("{base}?limit=5"))
        .master()
        .send()
        .await
        .assert_error(400, "INVALID_REQUEST");
    // RFC 3339 times, in UTC or with an offset.
    for query in [
        "?from=2026-12-05T10:30:00Z&to=2026-12-05T12:00:00Z&granularity=hour",
        "?from=2026-12-05T11:30:00%2B01:00&to=2026-12-05T12:00:00Z&granularity=hour",
    ] {
        let response = app.get(&format!("{base}{query}")).master().send().await;
        response.assert_status(200);
        let data = response.body["data"].as_array().unwrap();
        assert_eq!(data.len(), 2, "{query}");
        assert_eq!(data[0]["period_start"], "2026-12-05T10:00:00Z");
    }
    // 744 hours are allowed.
    app.get(&format!(
        "{base}?from=2026-01-01&to=2026-02-01&granularity=hour"
    ))
    .master()
    .send()
    .await
    .assert_status(200);
}

#[tokio::test]
async fn the_operator_export_pages_and_streams_every_tenant_deleted_ones_included() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "external_id": "acme"}))
        .await;
    let globex = app.tenant("Globex").await;
    let gone = app
        .create_tenant(json!({"name": "Gone", "external_id": "gone"}))
        .await;
    join(&app, &acme.key, "usage-a", "Ada").await;
    join(&app, &gone.key, "usage-g", "Gil").await;
    // Nobody stays present, so no row grows between the reads compared below.
    app.post("/api/v1/rooms/usage-a/end")
        .key(&acme.key)
        .send()
        .await
        .assert_status(200);
    app.delete(&format!("/api/v1/tenants/{}", gone.id))
        .master()
        .send()
        .await
        .assert_status(200);

    // One fixed range for every read, so an hour (or a day) turning during the test
    // changes nothing: from today's midnight to the end of the current hour.
    let now = chrono::Utc::now();
    let hours = now.format("%H").to_string().parse::<usize>().unwrap() + 1;
    let range = format!(
        "from={}&to={}&granularity=hour",
        now.format("%Y-%m-%dT00:00:00Z"),
        (now + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:00:00Z")
    );
    // Pages of 2 until the end: every tenant's every hour, once.
    let mut rows = Vec::new();
    let mut cursor = String::new();
    loop {
        let response = app
            .get(&format!("/api/v1/usage?{range}&limit=2&cursor={cursor}"))
            .master()
            .send()
            .await;
        response.assert_status(200);
        rows.extend(response.body["data"].as_array().unwrap().iter().cloned());
        match response.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(rows.len(), 3 * hours);
    let of = |id: &str| rows.iter().filter(|r| r["tenant_id"] == id).count();
    assert_eq!(
        (of(&acme.id), of(&globex.id), of(&gone.id)),
        (hours, hours, hours)
    );
    let joined = |id: &str| {
        rows.iter()
            .filter(|r| r["tenant_id"] == id)
            .map(|r| r["participants_joined"].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!(
        (joined(&acme.id), joined(&globex.id), joined(&gone.id)),
        (1, 0, 1)
    );
    let deleted = rows.iter().find(|r| r["tenant_id"] == gone.id).unwrap();
    assert_eq!(deleted["external_id"], "gone");

    // CSV: a header, then the same rows.
    let response = app
        .get(&format!("/api/v1/usage?{range}"))
        .master()
        .header("accept", "text/csv")
        .send()
        .await;
    response.assert_status(200);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = response.text.lines().collect();
    assert!(
        lines[0].starts_with("tenant_id,external_id,period_start,period_end,participant_seconds")
    );
    assert_eq!(lines.len(), 1 + 3 * hours);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{},acme,", acme.id)))
    );
    // NDJSON: one object per line, the page's rows.
    let response = app
        .get(&format!("/api/v1/usage?{range}"))
        .master()
        .header("accept", "application/x-ndjson")
        .send()
        .await;
    response.assert_status(200);
    let parsed: Vec<Value> = response
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed, rows);

    // Tenants may not export.
    app.get("/api/v1/usage")
        .key(&acme.key)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.get("/api/v1/usage?granularity=year")
        .master()
        .send()
        .await
        .assert_error(422, "VALIDATION_ERROR");
}

#[tokio::test]
async fn usage_is_purged_only_after_the_tenant_is_deleted() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    join(&app, &acme.key, "usage-p", "Ada").await;
    let path = format!("/api/v1/tenants/{}/usage", acme.id);
    app.delete(&path)
        .master()
        .send()
        .await
        .assert_error(409, "CONFLICT");
    app.delete(&path)
        .key(&acme.key)
        .send()
        .await
        .assert_error(403, "FORBIDDEN");
    app.delete(&format!("/api/v1/tenants/{}", acme.id))
        .master()
        .send()
        .await
        .assert_status(200);
    // Kept after the deletion, for the operator.
    let response = app.get(&path).master().send().await;
    response.assert_status(200);
    assert_eq!(response.body["totals"]["participants_joined"], 1);
    let response = app.delete(&path).master().send().await;
    response.assert_status(200);
    assert_eq!(
        response.body["data"],
        json!({"id": acme.id, "deleted": true})
    );
    app.get(&path)
        .master()
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    app.delete(&path)
        .master()
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    let audit = audit_entries(&app, &format!("&action=usage.purge&tenant_id={}", acme.id)).await;
    assert_eq!(audit.len(), 1);
}

#[tokio::test]
async fn request_counters_wait_in_memory_and_the_flush_writes_them() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let globex = app.tenant("Globex").await;
    for _ in 0..3 {
        app.get("/api/v1/tenant")
            .key(&acme.key)
            .send()
            .await
            .assert_status(200);
    }
    // Any status counts: a 404 of the tenant's is a request of the tenant's.
    app.get("/api/v1/rooms/room_nope")
        .key(&acme.key)
        .send()
        .await
        .assert_error(404, "NOT_FOUND");
    let pair = app.token(&acme.key).await;
    app.get("/api/v1/tenant")
        .bearer(&pair.access)
        .send()
        .await
        .assert_status(200);
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": pair.refresh}))
        .send()
        .await
        .assert_status(200);
    // A failed exchange is no exchange.
    app.post("/api/v1/auth/refresh")
        .json(json!({"refresh_token": pair.refresh}))
        .send()
        .await
        .assert_error(401, "INVALID_REFRESH_TOKEN");
    app.get("/api/v1/tenant")
        .key(&globex.key)
        .send()
        .await
        .assert_status(200);

    // Nothing is written per request: until the flush, the store holds none of it.
    assert_eq!(totals(&app, &acme.id).await["api_requests"], 0);
    let written = chalk_server::workers::usage_flush::flush(&app.state)
        .await
        .unwrap();
    assert_eq!(written, 2, "one row per tenant and hour");
    let acme_totals = totals(&app, &acme.id).await;
    assert_eq!(acme_totals["api_requests"], 5);
    assert_eq!(acme_totals["token_exchanges"], 2);
    let globex_totals = totals(&app, &globex.id).await;
    assert_eq!(globex_totals["api_requests"], 1);
    assert_eq!(globex_totals["token_exchanges"], 0);
    // A second flush adds to the same rows.
    app.get("/api/v1/tenant")
        .key(&acme.key)
        .send()
        .await
        .assert_status(200);
    chalk_server::workers::usage_flush::flush(&app.state)
        .await
        .unwrap();
    assert_eq!(totals(&app, &acme.id).await["api_requests"], 6);
}

async fn totals(app: &TestApp, id: &str) -> Value {
    let response = app
        .get(&format!("/api/v1/tenants/{id}/usage"))
        .master()
        .send()
        .await;
    response.assert_status(200);
    response.body["totals"].clone()
}

#[tokio::test]
async fn usage_alerts_are_config_fields_validated_with_every_error_named() {
    let app = test_app().await;
    let acme = app.tenant("Acme").await;
    let path = format!("/api/v1/tenants/{}/config", acme.id);
    let response = app
        .patch(&path)
        .key(&acme.key)
        .json(json!({
            "transcription_language": "nope nope",
            "usage_alerts": [
                {"metric": "api_requests", "period": "hour", "threshold": 10},
                {"metric": "seconds", "period": "day", "threshold": -1}
            ]
        }))
        .send()
        .await;
    response.assert_error(422, "VALIDATION_ERROR");
    let mut fields = response.fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "transcription_language",
            "usage_alerts[0].period",
            "usage_alerts[1].metric",
            "usage_alerts[1].threshold"
        ]
    );
    let alerts = json!([{"metric": "participant_seconds", "period": "month", "threshold": 360000}]);
    let response = app
        .patch(&path)
        .key(&acme.key)
        .json(json!({"usage_alerts": alerts}))
        .send()
        .await;
    response.assert_status(200);
    assert_eq!(response.body["data"]["config"]["usage_alerts"], alerts);
    let response = app.get(&path).key(&acme.key).send().await;
    assert_eq!(response.body["data"]["config"]["usage_alerts"], alerts);
    let response = app
        .patch(&path)
        .key(&acme.key)
        .json(json!({"usage_alerts": null}))
        .send()
        .await;
    response.assert_status(200);
    assert_eq!(response.body["data"]["config"]["usage_alerts"], json!([]));
}

/// The ids of the tenants the alert check reads.
async fn alerting(app: &TestApp) -> Vec<String> {
    let mut db = app.state.store.read().await.unwrap();
    chalk_server::store::usage::alerting_tenants(&mut db)
        .await
        .unwrap()
        .into_iter()
        .map(|tenant| tenant.tenant_id)
        .collect()
}

/// The alert check reads the tenants whose config holds alerts, and only while it does:
/// alerts given at creation, added, replaced and removed by `PATCH …/config`, and a patch
/// of other fields leaves them as they were.
#[tokio::test]
async fn the_alert_check_reads_the_tenants_with_alerts_while_they_have_them() {
    let app = test_app().await;
    let alerts = json!([{"metric": "participant_seconds", "period": "month", "threshold": 360000}]);
    let created = app
        .create_tenant(json!({"name": "Created", "config": {"usage_alerts": alerts}}))
        .await;
    let patched = app.tenant("Patched").await;
    let _quiet = app.tenant("Quiet").await;
    assert_eq!(alerting(&app).await, [created.id.as_str()]);

    let patch = |tenant: &Tenant, body: Value| {
        let path = format!("/api/v1/tenants/{}/config", tenant.id);
        let key = tenant.key.clone();
        let app = &app;
        async move {
            app.patch(&path)
                .key(&key)
                .json(body)
                .send()
                .await
                .assert_status(200);
        }
    };
    patch(&patched, json!({"usage_alerts": alerts})).await;
    assert_eq!(
        alerting(&app).await,
        [created.id.as_str(), patched.id.as_str()]
    );
    patch(&created, json!({"transcription_language": "es-ES"})).await;
    assert_eq!(
        alerting(&app).await,
        [created.id.as_str(), patched.id.as_str()]
    );
    let daily = json!([{"metric": "api_requests", "period": "day", "threshold": 1000}]);
    patch(&created, json!({"usage_alerts": daily})).await;
    assert_eq!(
        alerting(&app).await,
        [created.id.as_str(), patched.id.as_str()]
    );
    patch(&created, json!({"usage_alerts": null})).await;
    assert_eq!(alerting(&app).await, [patched.id.as_str()]);
    patch(&patched, json!({"usage_alerts": []})).await;
    assert!(alerting(&app).await.is_empty());
}

#[tokio::test]
async fn an_alert_fires_once_under_concurrent_joins_and_concurrent_checks() {
    let app = test_app().await;
    let acme = app
        .create_tenant(json!({"name": "Acme", "max_participants_per_room": 100}))
        .await;
    let quiet = app.tenant("Quiet").await;
    for tenant in [&acme, &quiet] {
        app.patch(&format!("/api/v1/tenants/{}/config", tenant.id))
            .master()
            .json(json!({"usage_alerts": [
                {"metric": "participants_joined", "period": "day", "threshold": 10},
                {"metric": "participants_joined", "period": "month", "threshold": 1000}
            ]}))
            .send()
            .await
            .assert_status(200);
    }
    let since = chalk_server::clock::now() - 1;
    let joins: Vec<_> = (0..50)
        .map(|i| {
            let router = app.router.clone();
            let key = acme.key.clone();
            tokio::spawn(async move {
                let request = axum::http::Request::post("/api/v1/rooms/alerted/participants")
                    .header("x-api-key", key)
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(
                        json!({"display_name": format!("p{i}")}).to_string(),
                    ))
                    .unwrap();
                send(&router, request).await.status
            })
        })
        .collect();
    // Checks run meanwhile, as on several instances at once.
    let checks: Vec<_> = (0..4)
        .map(|_| {
            let state = app.state.clone();
            tokio::spawn(async move {
                let mut fired = 0;
                for _ in 0..20 {
                    let now = chalk_server::clock::now();
                    fired += chalk_server::workers::usage_flush::tick(&state, since, now).await;
                    tokio::task::yield_now().await;
                }
                fired
            })
        })
        .collect();
    for join in joins {
        assert_eq!(join.await.unwrap(), 201);
    }
    let mut fired = 0;
    for check in checks {
        fired += check.await.unwrap();
    }
    fired +=
        chalk_server::workers::usage_flush::tick(&app.state, since, chalk_server::clock::now())
            .await;
    assert_eq!(fired, 1, "the day's alert, once; the month's is far");

    let events = app
        .get(&format!(
            "/api/v1/tenants/{}/events?type=usage.threshold_reached",
            acme.id
        ))
        .master()
        .send()
        .await;
    events.assert_status(200);
    let events = events.body["data"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1);
    let data = &events[0]["data"];
    assert_eq!(data["metric"], "participants_joined");
    assert_eq!(data["period"], "day");
    assert_eq!(data["threshold"], 10);
    assert!(data["value"].as_i64().unwrap() >= 10, "{data}");
    assert_eq!(
        data["period_start"],
        format!("{}T00:00:00Z", today()),
        "{data}"
    );
    // Later checks find it fired; the quiet tenant reached nothing.
    assert_eq!(
        chalk_server::workers::usage_flush::tick(&app.state, since, chalk_server::clock::now())
            .await,
        0
    );
    let quiet_events = app
        .get(&format!(
            "/api/v1/tenants/{}/events?type=usage.threshold_reached",
            quiet.id
        ))
        .master()
        .send()
        .await;
    assert_eq!(quiet_events.body["data"], json!([]));
}
