//! The embedded default: SQLite in WAL mode.
//!
//! Writes go through a pool of exactly one connection, so SQLite never sees two writers
//! fight over its lock (no `SQLITE_BUSY` under load) and every write transaction is
//! serialized in-process; reads use a separate pool and run in parallel with it.
//! `synchronous = FULL`: a write is on disk before it is acknowledged.

use async_trait::async_trait;
use chalk_sdk::model::{Scope, TenantStatus, TenantUsage};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use std::str::FromStr;
use std::time::Duration;

use super::*;

mod rooms;

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

fn store_error(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(error.to_string())
        }
        other => StoreError::Internal(other.to_string()),
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path`) and applies
    /// the migrations.
    pub async fn connect(url: &str) -> Result<Self, String> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| format!("invalid SQLite URL: {e}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await
            .map_err(|e| format!("cannot open the SQLite database: {e}"))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&writer)
            .await
            .map_err(|e| format!("cannot apply SQLite migrations: {e}"))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await
            .map_err(|e| format!("cannot open the SQLite database for reading: {e}"))?;
        Ok(Self { writer, reader })
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.writer.begin().await.map_err(store_error)
    }
}

pub(super) fn parse_status(text: &str) -> StoreResult<TenantStatus> {
    match text {
        "active" => Ok(TenantStatus::Active),
        "suspended" => Ok(TenantStatus::Suspended),
        other => Err(StoreError::Internal(format!(
            "unknown tenant status {other:?}"
        ))),
    }
}

pub(super) fn scopes_to_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn scopes_from_text(text: &str) -> StoreResult<Vec<Scope>> {
    text.split_whitespace()
        .map(|s| s.parse().map_err(StoreError::Internal))
        .collect()
}

fn tenant_from_row(row: &SqliteRow) -> StoreResult<TenantRow> {
    Ok(TenantRow {
        seq: row.try_get("seq").map_err(column_error)?,
        id: row.try_get("id").map_err(column_error)?,
        name: row.try_get("name").map_err(column_error)?,
        email: row.try_get("email").map_err(column_error)?,
        external_id: row.try_get("external_id").map_err(column_error)?,
        status: parse_status(row.try_get::<&str, _>("status").map_err(column_error)?)?,
        max_concurrent_rooms: row.try_get("max_concurrent_rooms").map_err(column_error)?,
        max_participants_per_room: row
            .try_get("max_participants_per_room")
            .map_err(column_error)?,
        max_recording_duration_minutes: row
            .try_get("max_recording_duration_minutes")
            .map_err(column_error)?,
        rate_limit_per_minute: row.try_get("rate_limit_per_minute").map_err(column_error)?,
        config: row.try_get("config").map_err(column_error)?,
        revision: row.try_get("revision").map_err(column_error)?,
        created_at: row.try_get("created_at").map_err(column_error)?,
        updated_at: row.try_get("updated_at").map_err(column_error)?,
    })
}

fn key_from_row(row: &SqliteRow) -> StoreResult<ApiKeyRow> {
    Ok(ApiKeyRow {
        seq: row.try_get("seq").map_err(column_error)?,
        id: row.try_get("id").map_err(column_error)?,
        tenant_id: row.try_get("tenant_id").map_err(column_error)?,
        name: row.try_get("name").map_err(column_error)?,
        prefix: row.try_get("prefix").map_err(column_error)?,
        scopes: scopes_from_text(row.try_get::<&str, _>("scopes").map_err(column_error)?)?,
        primary: row.try_get::<i64, _>("is_primary").map_err(column_error)? == 1,
        created_at: row.try_get("created_at").map_err(column_error)?,
        last_used_at: row.try_get("last_used_at").map_err(column_error)?,
        expires_at: row.try_get("expires_at").map_err(column_error)?,
        revoked_at: row.try_get("revoked_at").map_err(column_error)?,
    })
}

fn key_auth_from_row(row: &SqliteRow) -> StoreResult<KeyAuth> {
    Ok(KeyAuth {
        key: key_from_row(row)?,
        tenant_status: parse_status(
            row.try_get::<&str, _>("tenant_status")
                .map_err(column_error)?,
        )?,
        rate_limit_per_minute: row.try_get("tenant_rate_limit").map_err(column_error)?,
    })
}

const KEY_AUTH_SELECT: &str = "SELECT k.seq, k.id, k.tenant_id, k.name, k.prefix, k.scopes, k.is_primary, \
     k.created_at, k.last_used_at, k.expires_at, k.revoked_at, \
     t.status AS tenant_status, t.rate_limit_per_minute AS tenant_rate_limit \
     FROM api_keys k JOIN tenants t ON t.id = k.tenant_id";

async fn insert_key(
    tx: &mut Transaction<'static, Sqlite>,
    key: &NewApiKey,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, is_primary, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&key.id)
    .bind(&key.tenant_id)
    .bind(&key.name)
    .bind(&key.prefix)
    .bind(&key.key_hash)
    .bind(scopes_to_text(&key.scopes))
    .bind(i64::from(key.primary))
    .bind(key.created_at)
    .bind(key.expires_at)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    async fn create_tenant(
        &self,
        tenant: TenantRow,
        primary_key: NewApiKey,
    ) -> StoreResult<CreateTenantOutcome> {
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO tenants (id, name, email, status, max_concurrent_rooms, max_participants_per_room, \
             max_recording_duration_minutes, rate_limit_per_minute, config, revision, created_at, updated_at, \
             external_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING *",
        )
        .bind(&tenant.id)
        .bind(&tenant.name)
        .bind(&tenant.email)
        .bind(tenant.status.as_str())
        .bind(tenant.max_concurrent_rooms)
        .bind(tenant.max_participants_per_room)
        .bind(tenant.max_recording_duration_minutes)
        .bind(tenant.rate_limit_per_minute)
        .bind(&tenant.config)
        .bind(tenant.revision)
        .bind(tenant.created_at)
        .bind(tenant.updated_at)
        .bind(&tenant.external_id)
        .fetch_one(&mut *tx)
        .await;
        let row = match inserted {
            Ok(row) => tenant_from_row(&row)?,
            Err(e) if tenant_conflict_is_external_id(&e) => {
                return Ok(CreateTenantOutcome::ExternalIdTaken);
            }
            Err(e) if is_unique_violation(&e) => return Ok(CreateTenantOutcome::EmailTaken),
            Err(e) => return Err(store_error(e)),
        };
        insert_key(&mut tx, &primary_key)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(CreateTenantOutcome::Created(Box::new(row)))
    }

    async fn get_tenant(&self, id: &str) -> StoreResult<Option<TenantRow>> {
        sqlx::query("SELECT * FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(store_error)?
            .as_ref()
            .map(tenant_from_row)
            .transpose()
    }

    async fn list_tenants(
        &self,
        filter: &TenantFilter,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<TenantRow>> {
        let rows = sqlx::query(
            "SELECT * FROM tenants WHERE seq > $1 AND ($2 IS NULL OR status = $2) \
             AND ($4 IS NULL OR external_id = $4) ORDER BY seq LIMIT $3",
        )
        .bind(after_seq)
        .bind(filter.status.map(TenantStatus::as_str))
        .bind(limit)
        .bind(filter.external_id.as_deref())
        .fetch_all(&self.reader)
        .await
        .map_err(store_error)?;
        rows.iter().map(tenant_from_row).collect()
    }

    async fn update_tenant(
        &self,
        id: &str,
        expected_revision: Option<i64>,
        change: TenantChange,
        now: Timestamp,
    ) -> StoreResult<UpdateOutcome> {
        let (email_set, email) = match change.email {
            Some(email) => (1i64, email),
            None => (0, None),
        };
        let (external_id_set, external_id) = match change.external_id {
            Some(external_id) => (1i64, external_id),
            None => (0, None),
        };
        let updated = sqlx::query(
            "UPDATE tenants SET \
               name = COALESCE($3, name), \
               email = CASE WHEN $4 = 1 THEN $5 ELSE email END, \
               max_concurrent_rooms = COALESCE($6, max_concurrent_rooms), \
               max_participants_per_room = COALESCE($7, max_participants_per_room), \
               max_recording_duration_minutes = COALESCE($8, max_recording_duration_minutes), \
               rate_limit_per_minute = COALESCE($9, rate_limit_per_minute), \
               status = COALESCE($10, status), \
               config = COALESCE($11, config), \
               revision = revision + 1, \
               updated_at = $12, \
               external_id = CASE WHEN $13 = 1 THEN $14 ELSE external_id END \
             WHERE id = $1 AND ($2 IS NULL OR revision = $2) RETURNING *",
        )
        .bind(id)
        .bind(expected_revision)
        .bind(change.name)
        .bind(email_set)
        .bind(email)
        .bind(change.max_concurrent_rooms)
        .bind(change.max_participants_per_room)
        .bind(change.max_recording_duration_minutes)
        .bind(change.rate_limit_per_minute)
        .bind(change.status.map(TenantStatus::as_str))
        .bind(change.config)
        .bind(now)
        .bind(external_id_set)
        .bind(external_id)
        .fetch_optional(&self.writer)
        .await;
        match updated {
            Ok(Some(row)) => Ok(UpdateOutcome::Updated(Box::new(tenant_from_row(&row)?))),
            Ok(None) => {
                let exists = sqlx::query("SELECT 1 FROM tenants WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.writer)
                    .await
                    .map_err(store_error)?;
                Ok(if exists.is_some() {
                    UpdateOutcome::Stale
                } else {
                    UpdateOutcome::NotFound
                })
            }
            Err(e) if tenant_conflict_is_external_id(&e) => Ok(UpdateOutcome::ExternalIdTaken),
            Err(e) if is_unique_violation(&e) => Ok(UpdateOutcome::EmailTaken),
            Err(e) => Err(store_error(e)),
        }
    }

    async fn delete_tenant(&self, id: &str) -> StoreResult<bool> {
        // Foreign keys cascade to keys, refresh tokens, rooms, participants and
        // idempotency records.
        let result = sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(store_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn tenant_usage(&self, id: &str, now: Timestamp) -> StoreResult<TenantUsage> {
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM rooms WHERE tenant_id = $1 AND status != 'ended') AS active_rooms, \
               (SELECT COUNT(*) FROM rooms WHERE tenant_id = $1) AS total_rooms, \
               (SELECT COUNT(*) FROM participants p JOIN rooms r ON r.tenant_id = p.tenant_id AND r.id = p.room_id \
                  WHERE p.tenant_id = $1 AND p.left_at IS NULL AND r.status != 'ended') AS active_participants, \
               (SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL \
                  AND (expires_at IS NULL OR expires_at > $2)) AS api_keys",
        )
        .bind(id)
        .bind(now)
        .fetch_one(&self.reader)
        .await
        .map_err(store_error)?;
        Ok(TenantUsage {
            active_rooms: row.try_get("active_rooms").map_err(column_error)?,
            total_rooms: row.try_get("total_rooms").map_err(column_error)?,
            active_participants: row.try_get("active_participants").map_err(column_error)?,
            api_keys: row.try_get("api_keys").map_err(column_error)?,
        })
    }

    async fn key_by_hash(&self, key_hash: &str) -> StoreResult<Option<KeyAuth>> {
        let sql = sqlx::AssertSqlSafe(format!("{KEY_AUTH_SELECT} WHERE k.key_hash = $1"));
        sqlx::query(sql)
            .bind(key_hash)
            .fetch_optional(&self.reader)
            .await
            .map_err(store_error)?
            .as_ref()
            .map(key_auth_from_row)
            .transpose()
    }

    async fn key_by_id(&self, key_id: &str) -> StoreResult<Option<KeyAuth>> {
        let sql = sqlx::AssertSqlSafe(format!("{KEY_AUTH_SELECT} WHERE k.id = $1"));
        sqlx::query(sql)
            .bind(key_id)
            .fetch_optional(&self.reader)
            .await
            .map_err(store_error)?
            .as_ref()
            .map(key_auth_from_row)
            .transpose()
    }

    async fn touch_key(&self, key_id: &str, now: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2 - 60)",
        )
        .bind(key_id)
        .bind(now)
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(store_error)
    }

    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKeyRow> {
        let mut tx = self.begin().await?;
        insert_key(&mut tx, &key).await.map_err(store_error)?;
        let row = sqlx::query("SELECT * FROM api_keys WHERE id = $1")
            .bind(&key.id)
            .fetch_one(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        key_from_row(&row)
    }

    async fn list_api_keys(
        &self,
        tenant_id: &str,
        now: Timestamp,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<ApiKeyRow>> {
        let rows = sqlx::query(
            "SELECT * FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2) AND seq > $3 ORDER BY seq LIMIT $4",
        )
        .bind(tenant_id)
        .bind(now)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
        .map_err(store_error)?;
        rows.iter().map(key_from_row).collect()
    }

    async fn revoke_api_key(
        &self,
        tenant_id: &str,
        key_id: &str,
        now: Timestamp,
    ) -> StoreResult<RevokeKeyOutcome> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "SELECT is_primary FROM api_keys WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(key_id)
        .bind(tenant_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let outcome = match row {
            None => RevokeKeyOutcome::NotFound,
            Some(row) if row.try_get::<i64, _>("is_primary").unwrap_or(0) == 1 => {
                RevokeKeyOutcome::IsPrimary
            }
            Some(_) => {
                sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1")
                    .bind(key_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL")
                    .bind(key_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                RevokeKeyOutcome::Revoked
            }
        };
        tx.commit().await.map_err(store_error)?;
        Ok(outcome)
    }

    async fn rotate_primary_key(
        &self,
        new_key: NewApiKey,
        previous_expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM tenants WHERE id = $1")
            .bind(&new_key.tenant_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_error)?;
        if exists.is_none() {
            return Ok(false);
        }
        // Demote the current primary first: the partial unique index allows one primary.
        match previous_expires_at {
            Some(expires_at) => {
                sqlx::query(
                    "UPDATE api_keys SET is_primary = 0, \
                     expires_at = CASE WHEN expires_at IS NULL OR expires_at > $2 THEN $2 ELSE expires_at END \
                     WHERE tenant_id = $1 AND is_primary = 1",
                )
                .bind(&new_key.tenant_id)
                .bind(expires_at)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            }
            None => {
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND key_id IN \
                     (SELECT id FROM api_keys WHERE tenant_id = $1 AND is_primary = 1)",
                )
                .bind(&new_key.tenant_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
                sqlx::query(
                    "UPDATE api_keys SET is_primary = 0, revoked_at = $2 WHERE tenant_id = $1 AND is_primary = 1",
                )
                .bind(&new_key.tenant_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
            }
        }
        insert_key(&mut tx, &new_key).await.map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(true)
    }

    async fn insert_refresh_token(&self, token: NewRefreshToken) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, tenant_id, key_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&token.token_hash)
        .bind(&token.family_id)
        .bind(&token.tenant_id)
        .bind(&token.key_id)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(store_error)
    }

    async fn use_refresh_token(
        &self,
        token_hash: &str,
        successor_hash: &str,
        successor_expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<RefreshOutcome> {
        let mut tx = self.begin().await?;
        // One conditional UPDATE: of many concurrent presentations, exactly one finds
        // `used_at IS NULL`.
        let used = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
             RETURNING family_id, tenant_id, key_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let outcome = if let Some(row) = used {
            let family_id: String = row.try_get("family_id").map_err(column_error)?;
            let tenant_id: String = row.try_get("tenant_id").map_err(column_error)?;
            let key_id: String = row.try_get("key_id").map_err(column_error)?;
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, family_id, tenant_id, key_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(successor_hash)
            .bind(&family_id)
            .bind(&tenant_id)
            .bind(&key_id)
            .bind(now)
            .bind(successor_expires_at)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
            RefreshOutcome::Rotated { tenant_id, key_id }
        } else {
            let existing =
                sqlx::query("SELECT family_id, used_at FROM refresh_tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(store_error)?;
            match existing {
                Some(row)
                    if row
                        .try_get::<Option<i64>, _>("used_at")
                        .ok()
                        .flatten()
                        .is_some() =>
                {
                    let family_id: String = row.try_get("family_id").map_err(column_error)?;
                    sqlx::query(
                        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
                    )
                    .bind(&family_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(store_error)?;
                    RefreshOutcome::Reused
                }
                _ => RefreshOutcome::Invalid,
            }
        };
        tx.commit().await.map_err(store_error)?;
        Ok(outcome)
    }

    async fn revoke_refresh_family(&self, token_hash: &str, now: Timestamp) -> StoreResult<()> {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND family_id = \
             (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
        )
        .bind(token_hash)
        .bind(now)
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(store_error)
    }

    async fn idempotency_begin(&self, r: IdempotencyReservation) -> StoreResult<IdempotencyBegin> {
        let mut tx = self.begin().await?;
        // Expired records, and reservations abandoned by a crashed request, give way.
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2 \
             AND (created_at < $3 OR (status IS NULL AND created_at < $4))",
        )
        .bind(&r.scope)
        .bind(&r.key)
        .bind(r.expired_before)
        .bind(r.stale_before)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (scope, idem_key, request_hash, tenant_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, idem_key) DO NOTHING",
        )
        .bind(&r.scope)
        .bind(&r.key)
        .bind(&r.request_hash)
        .bind(&r.tenant_id)
        .bind(r.now)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        let outcome = if inserted.rows_affected() == 1 {
            IdempotencyBegin::Reserved
        } else {
            let row = sqlx::query(
                "SELECT request_hash, status, response FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
            )
            .bind(&r.scope)
            .bind(&r.key)
            .fetch_one(&mut *tx)
            .await
            .map_err(store_error)?;
            let hash: String = row.try_get("request_hash").map_err(column_error)?;
            let status: Option<i64> = row.try_get("status").map_err(column_error)?;
            let response: Option<String> = row.try_get("response").map_err(column_error)?;
            match (hash == r.request_hash, status, response) {
                (false, _, _) => IdempotencyBegin::Mismatch,
                (true, Some(status), Some(sealed_body)) => IdempotencyBegin::Replay {
                    status: u16::try_from(status).unwrap_or(200),
                    sealed_body,
                },
                (true, _, _) => IdempotencyBegin::InProgress,
            }
        };
        tx.commit().await.map_err(store_error)?;
        Ok(outcome)
    }

    async fn idempotency_complete(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        sealed_body: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE idempotency_keys SET status = $3, response = $4 WHERE scope = $1 AND idem_key = $2")
            .bind(scope)
            .bind(key)
            .bind(i64::from(status))
            .bind(sealed_body)
            .execute(&self.writer)
            .await
            .map(|_| ())
            .map_err(store_error)
    }

    async fn idempotency_abort(&self, scope: &str, key: &str) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND idem_key = $2 AND status IS NULL",
        )
        .bind(scope)
        .bind(key)
        .execute(&self.writer)
        .await
        .map(|_| ())
        .map_err(store_error)
    }

    async fn create_room(&self, room: NewRoom) -> StoreResult<CreateRoomOutcome> {
        self.create_room_tx(room).await
    }

    async fn get_room(&self, tenant_id: &str, room_id: &str) -> StoreResult<Option<RoomRow>> {
        self.get_room_row(tenant_id, room_id).await
    }

    async fn list_rooms(
        &self,
        tenant_id: &str,
        status: Option<chalk_sdk::model::RoomStatus>,
        now: Timestamp,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<RoomRow>> {
        self.list_room_rows(tenant_id, status, now, after_seq, limit)
            .await
    }

    async fn end_room(
        &self,
        tenant_id: &str,
        room_id: &str,
        now: Timestamp,
    ) -> StoreResult<EndRoomOutcome> {
        self.end_room_tx(tenant_id, room_id, now).await
    }

    async fn add_participant(
        &self,
        participant: NewParticipant,
        rules: JoinRules,
    ) -> StoreResult<JoinOutcome> {
        self.add_participant_tx(participant, rules).await
    }

    async fn participant_auth(&self, participant_id: &str) -> StoreResult<Option<ParticipantAuth>> {
        self.participant_auth_row(participant_id).await
    }

    async fn rotate_participant_tokens(
        &self,
        tenant_id: &str,
        room_id: &str,
        participant_id: &str,
        expected_generation: Option<i64>,
    ) -> StoreResult<RotateParticipantOutcome> {
        self.rotate_participant_tx(tenant_id, room_id, participant_id, expected_generation)
            .await
    }

    async fn remove_participant(
        &self,
        tenant_id: &str,
        room_id: &str,
        participant_id: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.remove_participant_tx(tenant_id, room_id, participant_id, now)
            .await
    }

    async fn empty_rooms(
        &self,
        empty_before: Timestamp,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<EmptyRoom>> {
        self.empty_room_rows(empty_before, after_seq, limit).await
    }

    async fn end_room_if_empty_since(
        &self,
        tenant_id: &str,
        room_id: &str,
        empty_since: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.end_room_if_empty_tx(tenant_id, room_id, empty_since, now)
            .await
    }
}
