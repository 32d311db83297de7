//! `chalk-server migrate-store`: a deployment filled through the API on SQLite is copied
//! to PostgreSQL by the real binary, served from there, and copied back to a fresh SQLite
//! database — and every hop keeps what a user relies on: keys authenticate, tenants read
//! back byte for byte with the same ETag, a refresh chain goes on, an idempotent create
//! replays its first response (secret included), and new rows get fresh `seq` values.
//!
//! The PostgreSQL half runs when `CHALK_TEST_POSTGRES_URL` is set; without it the test
//! says so, and the SQLite → SQLite copy still runs.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use std::process::{Command, Output};
use support::postgres::TestSchema;
use support::server::{Instance, MASTER_KEY};

const TABLES: [&str; 13] = [
    "signing_keys",
    "tenants",
    "api_keys",
    "refresh_tokens",
    "idempotency_keys",
    "rooms",
    "participants",
    "webhook_endpoints",
    "events",
    "webhook_deliveries",
    "api_key_expiry_notices",
    "operator_keys",
    "audit_events",
];

/// A status, the `ETag` header and the JSON body of one response.
struct Reply {
    status: u16,
    etag: Option<String>,
    replayed: bool,
    body: Value,
}

async fn call(
    base: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let mut request = reqwest::Client::new().request(method.clone(), format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let etag = header("etag");
    let replayed = header("idempotent-replayed").as_deref() == Some("true");
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    Reply {
        status,
        etag,
        replayed,
        body,
    }
}

fn expect(reply: &Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
}

const MASTER: (&str, &str) = ("x-master-key", MASTER_KEY);

/// What a deployment holds, as its users see it, and the credentials to check it with.
struct Deployment {
    tenant_id: String,
    primary_key: String,
    extra_key: String,
    /// The current end of a refresh chain (its earlier tokens are used).
    refresh_token: String,
    /// An access token signed on the source by its (copied) signing key.
    access_token: String,
    /// The chain's first token, used already.
    first_refresh_token: String,
    room_id: String,
    /// An operator key (its hash is copied as it is, so it keeps working).
    operator_key: String,
    /// The create request made with an `Idempotency-Key`, and its first response.
    idempotent_create: Value,
    idempotent_response: Value,
}

const IDEMPOTENCY_KEY: &str = "migrate-store-create-acme";

/// Fills a deployment through the API: a tenant with config, secrets, quotas, an extra key,
/// a refresh chain, an idempotent create, a room with participants; a second tenant.
async fn fill(base: &str) -> Deployment {
    let create = json!({
        "name": "Acme University",
        "email": "ops@acme.edu",
        "external_id": "acme",
        "max_concurrent_rooms": 7,
        "max_participants_per_room": 5,
        "config": {
            "transcription_language": "es-ES",
            "allowed_origins": ["https://app.acme.edu"],
            "post_meeting_webhook": {
                "enabled": true,
                "url": "https://hooks.acme.edu/chalk",
                "secret": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3",
                "transcription": {"provider": "deepgram", "api_key": "dg-secret-key-1234"}
            }
        }
    });
    let created = call(
        base,
        Method::POST,
        "/tenants",
        &[MASTER, ("idempotency-key", IDEMPOTENCY_KEY)],
        Some(create.clone()),
    )
    .await;
    expect(&created, 201, "create tenant");
    let tenant_id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let primary_key = created.body["data"]["api_key"].as_str().unwrap().to_owned();
    let other = call(
        base,
        Method::POST,
        "/tenants",
        &[MASTER],
        Some(json!({"name": "Beta College"})),
    )
    .await;
    expect(&other, 201, "second tenant");

    let key = call(
        base,
        Method::POST,
        &format!("/tenants/{tenant_id}/api-keys"),
        &[MASTER],
        Some(json!({"name": "ci-read", "scopes": ["tenant:read", "rooms:read"]})),
    )
    .await;
    expect(&key, 201, "extra key");
    let extra_key = key.body["data"]["api_key"].as_str().unwrap().to_owned();

    let pair = call(
        base,
        Method::POST,
        "/auth/token",
        &[],
        Some(json!({"api_key": primary_key})),
    )
    .await;
    expect(&pair, 200, "token");
    let first_refresh_token = pair.body["data"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refreshed = call(
        base,
        Method::POST,
        "/auth/refresh",
        &[],
        Some(json!({"refresh_token": first_refresh_token})),
    )
    .await;
    expect(&refreshed, 200, "refresh");
    let refresh_token = refreshed.body["data"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let access_token = refreshed.body["data"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let room = call(
        base,
        Method::POST,
        "/rooms",
        &[("x-api-key", &primary_key)],
        Some(json!({"id": "cs101", "name": "Intro to CS"})),
    )
    .await;
    expect(&room, 201, "room");
    let room_id = room.body["data"]["id"].as_str().unwrap().to_owned();
    for (name, user) in [("Ada", "u-ada"), ("Grace", "u-grace")] {
        let joined = call(
            base,
            Method::POST,
            &format!("/rooms/{room_id}/participants"),
            &[("x-api-key", &primary_key)],
            Some(json!({"display_name": name, "user_id": user, "role": "host"})),
        )
        .await;
        expect(&joined, 201, "participant");
    }
    let ended = call(
        base,
        Method::POST,
        "/rooms",
        &[("x-api-key", &primary_key)],
        Some(json!({"id": "old-room"})),
    )
    .await;
    expect(&ended, 201, "second room");
    let end = call(
        base,
        Method::POST,
        "/rooms/room_old-room/end",
        &[("x-api-key", &primary_key)],
        None,
    )
    .await;
    expect(&end, 200, "end room");
    let operator = call(
        base,
        Method::POST,
        "/operator-keys",
        &[MASTER],
        Some(json!({"name": "ops on call"})),
    )
    .await;
    expect(&operator, 201, "operator key");
    let operator_key = operator.body["data"]["key"].as_str().unwrap().to_owned();

    // A webhook endpoint (its deliveries and the events above), and a key expiring in 3
    // days, whose notice `expiring_notices` writes.
    let endpoint = call(
        base,
        Method::POST,
        &format!("/tenants/{tenant_id}/webhook-endpoints"),
        &[MASTER],
        Some(json!({"url": "https://hooks.acme.edu/endpoint", "events": ["*"]})),
    )
    .await;
    expect(&endpoint, 201, "webhook endpoint");
    let expires_at = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let expiring = call(
        base,
        Method::POST,
        &format!("/tenants/{tenant_id}/api-keys"),
        &[MASTER],
        Some(json!({"name": "expiring", "scopes": ["rooms:read"], "expires_at": expires_at})),
    )
    .await;
    expect(&expiring, 201, "expiring key");

    Deployment {
        tenant_id,
        primary_key,
        extra_key,
        refresh_token,
        access_token,
        first_refresh_token,
        room_id,
        operator_key,
        idempotent_create: create,
        idempotent_response: created.body,
    }
}

/// What users read back, compared across a copy.
#[derive(Debug, PartialEq)]
struct View {
    tenant: Value,
    etag: Option<String>,
    tenants: Value,
    room: Value,
    rooms: Value,
    keys: Value,
}

async fn view(base: &str, d: &Deployment) -> View {
    let tenant = call(
        base,
        Method::GET,
        &format!("/tenants/{}", d.tenant_id),
        &[MASTER],
        None,
    )
    .await;
    expect(&tenant, 200, "get tenant");
    let tenants = call(base, Method::GET, "/tenants?limit=200", &[MASTER], None).await;
    expect(&tenants, 200, "list tenants");
    let room = call(
        base,
        Method::GET,
        &format!("/rooms/{}", d.room_id),
        &[("x-api-key", &d.primary_key)],
        None,
    )
    .await;
    expect(&room, 200, "get room");
    let rooms = call(
        base,
        Method::GET,
        "/rooms?limit=200",
        &[("x-api-key", &d.primary_key)],
        None,
    )
    .await;
    expect(&rooms, 200, "list rooms");
    let keys = call(
        base,
        Method::GET,
        &format!("/tenants/{}/api-keys", d.tenant_id),
        &[MASTER],
        None,
    )
    .await;
    expect(&keys, 200, "list keys");
    let mut keys = keys.body;
    // Reading with a key marks it used: the one field that moves between two reads.
    for key in keys["data"].as_array_mut().unwrap() {
        key.as_object_mut().unwrap().remove("last_used_at");
    }
    View {
        tenant: tenant.body,
        etag: tenant.etag,
        tenants: tenants.body,
        room: room.body,
        rooms: rooms.body,
        keys,
    }
}

/// Proves a copied deployment works, then changes it the way users would (so the next
/// copy carries those changes too): the refresh chain moves on, and new rows are written
/// into every table with a sequence.
async fn use_copied(base: &str, d: &mut Deployment, before: &View) {
    assert_eq!(&view(base, d).await, before, "the copy reads back the same");
    let masked = before.tenant["data"]["config"]["post_meeting_webhook"]["secret"]
        .as_str()
        .unwrap();
    assert!(masked.starts_with("****"), "secrets stay masked: {masked}");
    let audit = call(
        base,
        Method::GET,
        "/audit-events?limit=200",
        &[("x-master-key", &d.operator_key)],
        None,
    )
    .await;
    expect(&audit, 200, "copied operator key authenticates");
    let actions: Vec<&str> = audit.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.first(),
        Some(&"tenant.create"),
        "the audit log is copied: {actions:?}"
    );

    for key in [&d.primary_key, &d.extra_key] {
        let me = call(base, Method::GET, "/tenant", &[("x-api-key", key)], None).await;
        expect(&me, 200, "copied key authenticates");
        assert_eq!(me.body["data"]["id"], d.tenant_id.as_str());
    }
    let wrong = call(
        base,
        Method::GET,
        "/tenant",
        &[("x-api-key", "sk_live_00000000000000000000000000000000")],
        None,
    )
    .await;
    expect(&wrong, 401, "an unknown key is still refused");
    // The signing keys were copied (sealed): a token signed before the copy still verifies.
    let signed_before = call(
        base,
        Method::GET,
        "/tenant",
        &[("authorization", &format!("Bearer {}", d.access_token))],
        None,
    )
    .await;
    expect(
        &signed_before,
        200,
        "an access token signed before the copy",
    );

    let refreshed = call(
        base,
        Method::POST,
        "/auth/refresh",
        &[],
        Some(json!({"refresh_token": d.refresh_token})),
    )
    .await;
    expect(&refreshed, 200, "the copied refresh token refreshes");
    d.refresh_token = refreshed.body["data"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let access = refreshed.body["data"]["access_token"].as_str().unwrap();
    let me = call(
        base,
        Method::GET,
        "/tenant",
        &[("authorization", &format!("Bearer {access}"))],
        None,
    )
    .await;
    expect(&me, 200, "the new access token works");

    let replay = call(
        base,
        Method::POST,
        "/tenants",
        &[MASTER, ("idempotency-key", IDEMPOTENCY_KEY)],
        Some(d.idempotent_create.clone()),
    )
    .await;
    expect(&replay, 201, "idempotent replay");
    assert!(replay.replayed, "the response is a replay");
    assert_eq!(
        replay.body, d.idempotent_response,
        "the first response, its sealed API key opened again"
    );
    let mismatch = call(
        base,
        Method::POST,
        "/tenants",
        &[MASTER, ("idempotency-key", IDEMPOTENCY_KEY)],
        Some(json!({"name": "Someone else"})),
    )
    .await;
    expect(&mismatch, 409, "same key, other body");
    assert_eq!(mismatch.body["error"]["code"], "CONFLICT");

    // New rows in every table with a sequence: a sequence left behind collides (500) or
    // sorts the new row before copied ones.
    let name = format!("New tenant {}", rand::random::<u32>());
    let created = call(
        base,
        Method::POST,
        "/tenants",
        &[MASTER],
        Some(json!({"name": name})),
    )
    .await;
    expect(&created, 201, "a new tenant after the copy");
    let listed = call(base, Method::GET, "/tenants?limit=200", &[MASTER], None).await;
    let last = listed.body["data"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["name"], name.as_str(), "the new tenant lists last");
    let key = call(
        base,
        Method::POST,
        &format!("/tenants/{}/api-keys", d.tenant_id),
        &[MASTER],
        Some(json!({"name": format!("after-copy-{}", rand::random::<u32>()), "scopes": ["tenant:read"]})),
    )
    .await;
    expect(&key, 201, "a new key after the copy");
    let room_name = format!("r{}", rand::random::<u32>());
    let room = call(
        base,
        Method::POST,
        "/rooms",
        &[("x-api-key", &d.primary_key)],
        Some(json!({"id": room_name})),
    )
    .await;
    expect(&room, 201, "a new room after the copy");
    let joined = call(
        base,
        Method::POST,
        &format!("/rooms/room_{room_name}/participants"),
        &[("x-api-key", &d.primary_key)],
        Some(json!({"display_name": "Linus"})),
    )
    .await;
    expect(&joined, 201, "a new participant after the copy");
    let rooms = call(
        base,
        Method::GET,
        "/rooms?limit=200",
        &[("x-api-key", &d.primary_key)],
        None,
    )
    .await;
    let ids: Vec<&str> = rooms.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        before.rooms["data"].as_array().unwrap().len() + 1,
        "{ids:?}"
    );
    assert!(
        ids.contains(&format!("room_{room_name}").as_str()),
        "{ids:?}"
    );
}

/// At the end of the last hop: the chain's first token was used before the first copy;
/// presenting it again is reuse, which revokes the whole chain, the newest token included.
async fn reuse_revokes_the_copied_chain(base: &str, d: &Deployment) {
    let reuse = call(
        base,
        Method::POST,
        "/auth/refresh",
        &[],
        Some(json!({"refresh_token": d.first_refresh_token})),
    )
    .await;
    expect(&reuse, 401, "a used token stays used");
    assert_eq!(reuse.body["error"]["code"], "INVALID_REFRESH_TOKEN");
    let newest = call(
        base,
        Method::POST,
        "/auth/refresh",
        &[],
        Some(json!({"refresh_token": d.refresh_token})),
    )
    .await;
    expect(&newest, 401, "reuse revoked the chain");
}

fn migrate(from: &str, to: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chalk-server"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["migrate-store", "--from", from, "--to", to])
        .output()
        .expect("run chalk-server migrate-store")
}

/// Runs a copy that must succeed; checks the summary names every table with matching
/// counts and tells the operator to keep the encryption key.
fn migrate_ok(from: &str, to: &str) -> String {
    let output = migrate(from, to);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "migrate-store failed: {stderr}\n{stdout}"
    );
    for table in TABLES {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(table))
            .unwrap_or_else(|| panic!("no line for {table}: {stdout}"));
        let numbers: Vec<i64> = line
            .split_whitespace()
            .skip(1)
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(numbers.len(), 2, "{line}");
        assert_eq!(numbers[0], numbers[1], "{line}");
        assert!(numbers[0] > 0, "every table has rows to copy: {line}");
    }
    assert!(
        stdout.contains("CHALK_ENCRYPTION_KEY"),
        "the summary says to keep the encryption key: {stdout}"
    );
    stdout
}

fn sqlite_url(dir: &tempfile::TempDir, name: &str) -> String {
    format!("sqlite://{}", dir.path().join(name).display())
}

/// Rows per table, read directly.
async fn counts(url: &str) -> Vec<i64> {
    let store = chalk_server::store::Store::connect(url).await.unwrap();
    let mut db = store.read().await.unwrap();
    let mut counts = Vec::new();
    for table in TABLES {
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table}"));
        let row = sqlx::query(sql)
            .fetch_one(db.conn().unwrap())
            .await
            .unwrap();
        counts.push(sqlx::Row::get::<i64, _>(&row, "n"));
    }
    drop(db);
    store.close().await;
    counts
}

/// The periodic scan for keys about to expire, run once on a stopped deployment.
async fn expiring_notices(url: &str) {
    let store = chalk_server::store::Store::connect(url).await.unwrap();
    let written =
        chalk_server::domain::events::record_expiring_keys(&store, chrono::Utc::now().timestamp())
            .await
            .unwrap();
    assert_eq!(written, 1, "the expiring key's 7d notice");
    store.close().await;
}

/// Fills a SQLite deployment, stops its server; returns what it holds and how it reads.
async fn filled_sqlite(url: &str) -> (Deployment, View) {
    let server = Instance::start(&[("CHALK_DATABASE_URL", url)]);
    let deployment = fill(&server.base).await;
    let before = view(&server.base, &deployment).await;
    drop(server);
    expiring_notices(url).await;
    (deployment, before)
}

/// Copies to `to`, serves it, proves it works and changes it; returns how it reads after.
async fn hop(from: &str, to: &str, d: &mut Deployment, before: &View) -> View {
    migrate_ok(from, to);
    let server = Instance::start(&[("CHALK_DATABASE_URL", to)]);
    use_copied(&server.base, d, before).await;
    view(&server.base, d).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_and_back() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = sqlite_url(&dir, "source.db");
    let (mut d, before) = filled_sqlite(&source).await;

    let on_postgres = hop(&source, &schema.url, &mut d, &before).await;

    let back = sqlite_url(&dir, "back.db");
    let after = hop(&schema.url, &back, &mut d, &on_postgres).await;
    let server = Instance::start(&[("CHALK_DATABASE_URL", &back)]);
    assert_eq!(view(&server.base, &d).await, after);
    reuse_revokes_the_copied_chain(&server.base, &d).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let source = sqlite_url(&dir, "source.db");
    let (mut d, before) = filled_sqlite(&source).await;
    let copy = sqlite_url(&dir, "copy.db");
    hop(&source, &copy, &mut d, &before).await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("copy.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the new database is its owner's only");
    }
    let server = Instance::start(&[("CHALK_DATABASE_URL", &copy)]);
    reuse_revokes_the_copied_chain(&server.base, &d).await;
}

/// A target with any row is refused with a clear message and a failing exit, and is left
/// exactly as it was.
async fn refuses_non_empty(source: &str, target: &str) {
    let before = counts(target).await;
    let output = migrate(source, target);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a non-empty target is refused");
    assert!(
        stderr.contains("the target database is not empty") && stderr.contains("tenants: "),
        "{stderr}"
    );
    assert_eq!(counts(target).await, before, "the target is unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_empty_target_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let source = sqlite_url(&dir, "source.db");
    let target = sqlite_url(&dir, "target.db");
    for url in [&source, &target] {
        let server = Instance::start(&[("CHALK_DATABASE_URL", url)]);
        let created = call(
            &server.base,
            Method::POST,
            "/tenants",
            &[MASTER],
            Some(json!({"name": "Already here"})),
        )
        .await;
        expect(&created, 201, "tenant");
    }
    refuses_non_empty(&source, &target).await;

    if let Some(schema) = TestSchema::create().await {
        let server = Instance::start(&[("CHALK_DATABASE_URL", &schema.url)]);
        let created = call(
            &server.base,
            Method::POST,
            "/tenants",
            &[MASTER],
            Some(json!({"name": "Already on PostgreSQL"})),
        )
        .await;
        expect(&created, 201, "tenant");
        drop(server);
        refuses_non_empty(&source, &schema.url).await;
        // And a SQLite target with rows is refused a PostgreSQL source as well.
        refuses_non_empty(&schema.url, &target).await;
    }
}

#[test]
fn a_missing_source_file_is_an_error_not_an_empty_copy() {
    let dir = tempfile::tempdir().unwrap();
    let missing = sqlite_url(&dir, "nope.db");
    let output = migrate(&missing, &sqlite_url(&dir, "target.db"));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no SQLite database at"), "{stderr}");
    assert!(!dir.path().join("nope.db").exists(), "nothing was created");
}

/// Says plainly, in `cargo test`'s output, when the PostgreSQL half did not run.
#[test]
fn postgres_half_not_run() {
    if support::postgres::admin_url().is_none() {
        support::postgres::report_not_run();
    }
}

/// Every column of two tables, as text, sorted (the databases collate text differently).
async fn dump(store: &chalk_server::store::Store) -> Vec<Vec<Option<String>>> {
    const SELECTS: [&str; 2] = [
        "SELECT CAST(seq AS TEXT), id, name, email, external_id, status, \
         CAST(max_concurrent_rooms AS TEXT), CAST(max_participants_per_room AS TEXT), \
         CAST(max_recording_duration_minutes AS TEXT), CAST(rate_limit_per_minute AS TEXT), \
         config, CAST(revision AS TEXT), CAST(created_at AS TEXT), CAST(updated_at AS TEXT) \
         FROM tenants",
        "SELECT scope, idem_key, request_hash, tenant_id, CAST(status AS TEXT), response, \
         CAST(created_at AS TEXT) FROM idempotency_keys",
    ];
    let mut db = store.read().await.unwrap();
    let mut rows = Vec::new();
    for select in SELECTS {
        let mut table = Vec::new();
        for row in sqlx::query(select)
            .fetch_all(db.conn().unwrap())
            .await
            .unwrap()
        {
            use sqlx::Row;
            table.push(
                (0..row.len())
                    .map(|i| row.get::<Option<String>, _>(i))
                    .collect::<Vec<_>>(),
            );
        }
        table.sort();
        rows.extend(table);
    }
    rows
}

/// More rows than one batch, with gaps in `seq`, NULLs and a composite key: copied exactly,
/// and the next `seq` follows the largest copied one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_rows_are_copied_in_batches_column_for_column() {
    use chalk_server::app::migrate_store::copy_store;
    use chalk_server::store::Store;
    const ROWS: i64 = 450;
    let dir = tempfile::tempdir().unwrap();
    let source = Store::connect(&sqlite_url(&dir, "many.db")).await.unwrap();
    let mut db = source.begin().await.unwrap();
    for i in 1..=ROWS {
        sqlx::query(
            "INSERT INTO tenants (seq, id, name, email, external_id, status, max_concurrent_rooms, \
             max_participants_per_room, max_recording_duration_minutes, rate_limit_per_minute, \
             config, revision, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, NULL, 'active', 10, 5, 120, 1000, '{}', $5, $6, $6)",
        )
        .bind(i * 3)
        .bind(format!("tenant_{i:04}"))
        .bind(format!("Tenant {i} — ünïcode"))
        .bind((i % 2 == 0).then(|| format!("t{i}@example.com")))
        .bind(i)
        .bind(1_800_000_000 + i)
        .execute(db.conn().unwrap())
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO idempotency_keys (scope, idem_key, request_hash, tenant_id, status, \
             response, created_at) VALUES ($1, $2, 'h', $3, $4, $5, 1800000000)",
        )
        .bind(format!("scope-{}", i % 3))
        .bind(format!("key-{i}"))
        .bind((i % 5 == 0).then(|| format!("tenant_{i:04}")))
        .bind((i % 4 != 0).then_some(201_i64))
        .bind((i % 4 != 0).then(|| format!("{{\"n\":{i}}}")))
        .execute(db.conn().unwrap())
        .await
        .unwrap();
    }
    db.commit().await.unwrap();
    let expected = dump(&source).await;
    assert_eq!(expected.len(), 2 * ROWS as usize);

    let mut targets = vec![sqlite_url(&dir, "many-copy.db")];
    let schema = TestSchema::create().await;
    if let Some(schema) = &schema {
        targets.push(schema.url.clone());
    }
    for url in targets {
        let target = Store::connect(&url).await.unwrap();
        let counts = copy_store(&source, &target).await.unwrap();
        let tenants = counts.iter().find(|c| c.table == "tenants").unwrap();
        assert_eq!((tenants.source, tenants.target), (ROWS, ROWS));
        let copied = dump(&target).await;
        assert_eq!(copied.len(), expected.len(), "{url}");
        if let Some((copied, expected)) = copied.iter().zip(&expected).find(|(c, e)| c != e) {
            panic!("{url}: copied {copied:?}, expected {expected:?}");
        }
        let mut db = target.begin().await.unwrap();
        let row = sqlx::query(
            "INSERT INTO tenants (id, name, status, max_concurrent_rooms, \
             max_participants_per_room, max_recording_duration_minutes, rate_limit_per_minute, \
             config, revision, created_at, updated_at) \
             VALUES ('tenant_next', 'Next', 'active', 1, 1, 1, 1, '{}', 1, 0, 0) RETURNING seq",
        )
        .fetch_one(db.conn().unwrap())
        .await
        .unwrap();
        assert_eq!(sqlx::Row::get::<i64, _>(&row, "seq"), ROWS * 3 + 1, "{url}");
        db.commit().await.unwrap();
        target.close().await;
    }
}
