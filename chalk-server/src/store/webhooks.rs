//! Webhook endpoints. Secrets are stored sealed (the caller seals and opens them); at most
//! [`MAX_ENDPOINTS`] per tenant, counted under the tenant's row lock so concurrent creates
//! cannot pass it together.

use sqlx::any::AnyRow;

use super::{Db, StoreResult, Timestamp, col, flag, store_error};

pub const MAX_ENDPOINTS: i64 = 10;

/// One row of `webhook_endpoints`. `Debug` leaves out the sealed secrets all the same.
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointRow {
    pub seq: i64,
    pub id: String,
    pub tenant_id: String,
    pub url: String,
    /// Event types, or `["*"]`.
    pub events: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for EndpointRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointRow")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl EndpointRow {
    /// Whether it wants events of `event_type`.
    pub fn subscribes_to(&self, event_type: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == event_type)
    }

    /// The sealed secrets that sign a delivery at `now`: the current one, and the previous
    /// one until it expires.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) =
            (&self.previous_secret, self.previous_secret_expires_at)
            && until > now
        {
            secrets.push(previous);
        }
        secrets
    }
}

fn from_row(row: &AnyRow) -> StoreResult<EndpointRow> {
    let events: String = col(row, "events")?;
    Ok(EndpointRow {
        seq: col(row, "seq")?,
        id: col(row, "id")?,
        tenant_id: col(row, "tenant_id")?,
        url: col(row, "url")?,
        events: events.split_whitespace().map(str::to_owned).collect(),
        description: col(row, "description")?,
        enabled: flag(row, "enabled")?,
        secret: col(row, "secret")?,
        previous_secret: col(row, "previous_secret")?,
        previous_secret_expires_at: col(row, "previous_secret_expires_at")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

const SELECT: &str = "SELECT seq, id, tenant_id, url, events, description, enabled, secret, \
     previous_secret, previous_secret_expires_at, created_at, updated_at FROM webhook_endpoints";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateEndpointOutcome {
    Created(Box<EndpointRow>),
    TenantNotFound,
    TooMany,
}

/// Inserts `endpoint` unless the tenant already has [`MAX_ENDPOINTS`].
pub async fn create(db: &mut Db, endpoint: &EndpointRow) -> StoreResult<CreateEndpointOutcome> {
    if super::tenants::lock(db, &endpoint.tenant_id)
        .await?
        .is_none()
    {
        return Ok(CreateEndpointOutcome::TenantNotFound);
    }
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = $1")
            .bind(&endpoint.tenant_id)
            .fetch_one(db.conn()?)
            .await
            .map_err(store_error)?;
    if count >= MAX_ENDPOINTS {
        return Ok(CreateEndpointOutcome::TooMany);
    }
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, tenant_id, url, events, description, enabled, secret, \
         previous_secret, previous_secret_expires_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8, $8)",
    )
    .bind(&endpoint.id)
    .bind(&endpoint.tenant_id)
    .bind(&endpoint.url)
    .bind(endpoint.events.join(" "))
    .bind(&endpoint.description)
    .bind(endpoint.enabled)
    .bind(&endpoint.secret)
    .bind(endpoint.created_at)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    let row = get(db, &endpoint.tenant_id, &endpoint.id)
        .await?
        .ok_or_else(|| super::StoreError::Internal("inserted endpoint vanished".into()))?;
    Ok(CreateEndpointOutcome::Created(Box::new(row)))
}

pub async fn get(db: &mut Db, tenant_id: &str, id: &str) -> StoreResult<Option<EndpointRow>> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE tenant_id = $1 AND id = $2"));
    sqlx::query(sql)
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(db.conn()?)
        .await
        .map_err(store_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// A tenant's endpoints with `seq > after_seq`, oldest first.
pub async fn list(
    db: &mut Db,
    tenant_id: &str,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<EndpointRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    ));
    let rows = sqlx::query(sql)
        .bind(tenant_id)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(db.conn()?)
        .await
        .map_err(store_error)?;
    rows.iter().map(from_row).collect()
}

/// The tenant's enabled endpoints (at most [`MAX_ENDPOINTS`]), to fan an event out to.
pub async fn enabled(db: &mut Db, tenant_id: &str) -> StoreResult<Vec<EndpointRow>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE tenant_id = $1 AND enabled = $2 ORDER BY seq"
    ));
    let rows = sqlx::query(sql)
        .bind(tenant_id)
        .bind(true)
        .fetch_all(db.conn()?)
        .await
        .map_err(store_error)?;
    rows.iter().map(from_row).collect()
}

/// Writes every field of `endpoint` (as read and changed by the caller in this
/// transaction) but its identity and creation time.
pub async fn save(db: &mut Db, endpoint: &EndpointRow) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET url = $3, events = $4, description = $5, enabled = $6, \
         secret = $7, previous_secret = $8, previous_secret_expires_at = $9, updated_at = $10 \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(&endpoint.tenant_id)
    .bind(&endpoint.id)
    .bind(&endpoint.url)
    .bind(endpoint.events.join(" "))
    .bind(&endpoint.description)
    .bind(endpoint.enabled)
    .bind(&endpoint.secret)
    .bind(&endpoint.previous_secret)
    .bind(endpoint.previous_secret_expires_at)
    .bind(endpoint.updated_at)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    Ok(done.rows_affected() == 1)
}

/// Locks the endpoint's row for a read-modify-write (PostgreSQL; SQLite's single writer
/// already serializes).
pub async fn lock(db: &mut Db, tenant_id: &str, id: &str) -> StoreResult<Option<EndpointRow>> {
    let touched = sqlx::query(
        "UPDATE webhook_endpoints SET updated_at = updated_at WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant_id)
    .bind(id)
    .execute(db.conn()?)
    .await
    .map_err(store_error)?;
    if touched.rows_affected() == 0 {
        return Ok(None);
    }
    get(db, tenant_id, id).await
}

/// Deletes the endpoint and, with it, its deliveries.
pub async fn delete(db: &mut Db, tenant_id: &str, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2")
        .bind(tenant_id)
        .bind(id)
        .execute(db.conn()?)
        .await
        .map_err(store_error)?;
    Ok(done.rows_affected() == 1)
}
