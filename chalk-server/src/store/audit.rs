//! The audit log's rows. Append-only: this module inserts, reads and purges past the
//! retention; nothing updates a row.

use sqlx::any::AnyRow;

use super::{Db, StoreResult, Timestamp, col, store_error};

/// One entry as stored. `changes` is the JSON text of the field-level changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    pub id: String,
    pub at: Timestamp,
    pub request_id: String,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub action: String,
    pub outcome: String,
    pub target_type: String,
    pub target_id: String,
    pub tenant_id: Option<String>,
    pub changes: Option<String>,
    pub client_ip: String,
    pub user_agent: Option<String>,
}

/// What `GET /audit-events` may filter by; `None` is "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub tenant_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

fn from_row(row: &AnyRow) -> StoreResult<AuditRow> {
    Ok(AuditRow {
        seq: col(row, "seq")?,
        id: col(row, "id")?,
        at: col(row, "at")?,
        request_id: col(row, "request_id")?,
        actor_type: col(row, "actor_type")?,
        actor_id: col(row, "actor_id")?,
        actor_name: col(row, "actor_name")?,
        action: col(row, "action")?,
        outcome: col(row, "outcome")?,
        target_type: col(row, "target_type")?,
        target_id: col(row, "target_id")?,
        tenant_id: col(row, "tenant_id")?,
        changes: col(row, "changes")?,
        client_ip: col(row, "client_ip")?,
        user_agent: col(row, "user_agent")?,
    })
}

pub async fn insert(db: &mut Db, row: &AuditRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_events (id, at, request_id, actor_type, actor_id, actor_name, action, \
         outcome, target_type, target_id, tenant_id, changes, client_ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&row.id)
    .bind(row.at)
    .bind(&row.request_id)
    .bind(&row.actor_type)
    .bind(&row.actor_id)
    .bind(&row.actor_name)
    .bind(&row.action)
    .bind(&row.outcome)
    .bind(&row.target_type)
    .bind(&row.target_id)
    .bind(&row.tenant_id)
    .bind(&row.changes)
    .bind(&row.client_ip)
    .bind(&row.user_agent)
    .execute(db.conn()?)
    .await
    .map(|_| ())
    .map_err(store_error)
}

/// Entries matching `filter` with `seq > after_seq`, oldest first. A `None` filter field is
/// bound as NULL and matches everything (`$n IS NULL OR …`), so there is one SQL text.
pub async fn list(
    db: &mut Db,
    filter: &AuditFilter,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<AuditRow>> {
    let rows = sqlx::query(
        "SELECT * FROM audit_events WHERE seq > $1 \
         AND ($2 IS NULL OR tenant_id = $2) AND ($3 IS NULL OR actor_id = $3) \
         AND ($4 IS NULL OR action = $4) AND ($5 IS NULL OR at >= $5) \
         AND ($6 IS NULL OR at < $6) ORDER BY seq LIMIT $7",
    )
    .bind(after_seq)
    .bind(&filter.tenant_id)
    .bind(&filter.actor_id)
    .bind(&filter.action)
    .bind(filter.since)
    .bind(filter.until)
    .bind(limit)
    .fetch_all(db.conn()?)
    .await
    .map_err(store_error)?;
    rows.iter().map(from_row).collect()
}

/// Deletes entries older than `before`; the number deleted.
pub async fn purge_older_than(db: &mut Db, before: Timestamp) -> StoreResult<u64> {
    sqlx::query("DELETE FROM audit_events WHERE at < $1")
        .bind(before)
        .execute(db.conn()?)
        .await
        .map(|r| r.rows_affected())
        .map_err(store_error)
}
