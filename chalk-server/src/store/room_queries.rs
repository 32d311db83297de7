//! The rooms and participants queries, written once for both backends.
//!
//! The SQL is portable (`$n` parameters, `RETURNING`, `COALESCE`/`CASE`, no
//! backend-only functions), so SQLite and PostgreSQL run the very same statements; only
//! the sqlx types and the pool that serves reads differ. Writing the functions generic over
//! `sqlx::Database` would need a bound for every bind and column type; this macro expands
//! the one text in each backend's `rooms` module instead (`sqlite/rooms.rs`,
//! `postgres/rooms.rs`), where their module docs say how each serializes the quota checks.

/// Expands the rooms and participants store functions for one backend:
/// `store` is the backend's store type, `db` its `sqlx::Database`, `row` its row type and
/// `reader` the pool field that serves reads.
macro_rules! room_queries {
    (store = $store:ty, db = $db:ty, row = $row:ty, reader = $reader:ident) => {
        use chalk_sdk::model::{DuplicateParticipantPolicy, ParticipantRole, RoomStatus};
        use sqlx::{Row, Transaction};

        use super::{parse_status, store_error};
        use crate::store::*;

        const ROOM_SELECT: &str = "SELECT r.seq, r.id, r.tenant_id, r.name, r.status, r.scheduled_start, \
             r.max_participants, r.created_at, r.ended_at, r.empty_since, \
             (SELECT COUNT(*) FROM participants p WHERE p.tenant_id = r.tenant_id AND p.room_id = r.id \
                AND p.left_at IS NULL) AS participant_count \
             FROM rooms r";

        fn parse_room_status(text: &str) -> StoreResult<RoomStatus> {
            match text {
                "scheduled" => Ok(RoomStatus::Scheduled),
                "active" => Ok(RoomStatus::Active),
                "ended" => Ok(RoomStatus::Ended),
                other => Err(StoreError::Internal(format!(
                    "unknown room status {other:?}"
                ))),
            }
        }

        fn parse_role(text: &str) -> StoreResult<ParticipantRole> {
            match text {
                "host" => Ok(ParticipantRole::Host),
                "participant" => Ok(ParticipantRole::Participant),
                other => Err(StoreError::Internal(format!(
                    "unknown participant role {other:?}"
                ))),
            }
        }

        fn room_from_row(row: &$row) -> StoreResult<RoomRow> {
            Ok(RoomRow {
                seq: row.try_get("seq").map_err(column_error)?,
                id: row.try_get("id").map_err(column_error)?,
                tenant_id: row.try_get("tenant_id").map_err(column_error)?,
                name: row.try_get("name").map_err(column_error)?,
                status: parse_room_status(row.try_get::<&str, _>("status").map_err(column_error)?)?,
                scheduled_start: row.try_get("scheduled_start").map_err(column_error)?,
                max_participants: row.try_get("max_participants").map_err(column_error)?,
                created_at: row.try_get("created_at").map_err(column_error)?,
                ended_at: row.try_get("ended_at").map_err(column_error)?,
                empty_since: row.try_get("empty_since").map_err(column_error)?,
                participant_count: row.try_get("participant_count").map_err(column_error)?,
            })
        }

        fn participant_from_row(row: &$row) -> StoreResult<ParticipantRow> {
            Ok(ParticipantRow {
                seq: row.try_get("seq").map_err(column_error)?,
                id: row.try_get("id").map_err(column_error)?,
                tenant_id: row.try_get("tenant_id").map_err(column_error)?,
                room_id: row.try_get("room_id").map_err(column_error)?,
                user_id: row.try_get("user_id").map_err(column_error)?,
                display_name: row.try_get("display_name").map_err(column_error)?,
                role: parse_role(row.try_get::<&str, _>("role").map_err(column_error)?)?,
                joined_at: row.try_get("joined_at").map_err(column_error)?,
                left_at: row.try_get("left_at").map_err(column_error)?,
                token_generation: row.try_get("token_generation").map_err(column_error)?,
            })
        }

        type Tx = Transaction<'static, $db>;

        /// The tenant's quotas, read while taking the tenant row's write lock; `None` when the
        /// tenant does not exist.
        struct TenantLimits {
            max_concurrent_rooms: i64,
            max_participants_per_room: i64,
        }

        async fn lock_tenant(tx: &mut Tx, tenant_id: &str) -> StoreResult<Option<TenantLimits>> {
            let row = sqlx::query(
                "UPDATE tenants SET status = status WHERE id = $1 \
                 RETURNING max_concurrent_rooms, max_participants_per_room",
            )
            .bind(tenant_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(store_error)?;
            row.map(|row| {
                Ok(TenantLimits {
                    max_concurrent_rooms: row.try_get("max_concurrent_rooms").map_err(column_error)?,
                    max_participants_per_room: row.try_get("max_participants_per_room").map_err(column_error)?,
                })
            })
            .transpose()
        }

        async fn room_in(tx: &mut Tx, tenant_id: &str, room_id: &str) -> StoreResult<Option<RoomRow>> {
            let sql = sqlx::AssertSqlSafe(format!(
                "{ROOM_SELECT} WHERE r.tenant_id = $1 AND r.id = $2"
            ));
            sqlx::query(sql)
                .bind(tenant_id)
                .bind(room_id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(store_error)?
                .as_ref()
                .map(room_from_row)
                .transpose()
        }

        async fn open_rooms(tx: &mut Tx, tenant_id: &str) -> StoreResult<i64> {
            sqlx::query_scalar("SELECT COUNT(*) FROM rooms WHERE tenant_id = $1 AND ended_at IS NULL")
                .bind(tenant_id)
                .fetch_one(&mut **tx)
                .await
                .map_err(store_error)
        }

        async fn insert_room(tx: &mut Tx, room: &NewRoom) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO rooms (id, tenant_id, name, status, scheduled_start, max_participants, \
                 created_at, empty_since) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&room.id)
            .bind(&room.tenant_id)
            .bind(&room.name)
            .bind(room.initial_status().as_str())
            .bind(room.scheduled_start)
            .bind(room.max_participants)
            .bind(room.created_at)
            .bind(room.initial_empty_since())
            .execute(&mut **tx)
            .await
            .map(|_| ())
            .map_err(store_error)
        }

        async fn participant_in(tx: &mut Tx, participant_id: &str) -> StoreResult<ParticipantRow> {
            let row = sqlx::query("SELECT * FROM participants WHERE id = $1")
                .bind(participant_id)
                .fetch_one(&mut **tx)
                .await
                .map_err(store_error)?;
            participant_from_row(&row)
        }

        /// Present participants leave and their tokens die.
        async fn disconnect(tx: &mut Tx, participant_id: &str, now: Timestamp) -> StoreResult<()> {
            sqlx::query(
                "UPDATE participants SET left_at = $2, token_generation = token_generation + 1 \
                 WHERE id = $1 AND left_at IS NULL",
            )
            .bind(participant_id)
            .bind(now)
            .execute(&mut **tx)
            .await
            .map(|_| ())
            .map_err(store_error)
        }

        impl $store {
            pub(super) async fn create_room_tx(&self, room: NewRoom) -> StoreResult<CreateRoomOutcome> {
                let mut tx = self.begin().await?;
                let Some(limits) = lock_tenant(&mut tx, &room.tenant_id).await? else {
                    return Ok(CreateRoomOutcome::TenantNotFound);
                };
                if room_in(&mut tx, &room.tenant_id, &room.id).await?.is_some() {
                    return Ok(CreateRoomOutcome::IdTaken);
                }
                if open_rooms(&mut tx, &room.tenant_id).await? >= limits.max_concurrent_rooms {
                    return Ok(CreateRoomOutcome::QuotaExceeded {
                        limit: limits.max_concurrent_rooms,
                    });
                }
                insert_room(&mut tx, &room).await?;
                let row = room_in(&mut tx, &room.tenant_id, &room.id)
                    .await?
                    .ok_or_else(|| StoreError::Internal("inserted room vanished".into()))?;
                tx.commit().await.map_err(store_error)?;
                Ok(CreateRoomOutcome::Created(Box::new(row)))
            }

            pub(super) async fn get_room_row(
                &self,
                tenant_id: &str,
                room_id: &str,
            ) -> StoreResult<Option<RoomRow>> {
                let sql = sqlx::AssertSqlSafe(format!(
                    "{ROOM_SELECT} WHERE r.tenant_id = $1 AND r.id = $2"
                ));
                sqlx::query(sql)
                    .bind(tenant_id)
                    .bind(room_id)
                    .fetch_optional(&self.$reader)
                    .await
                    .map_err(store_error)?
                    .as_ref()
                    .map(room_from_row)
                    .transpose()
            }

            pub(super) async fn list_room_rows(
                &self,
                tenant_id: &str,
                status: Option<RoomStatus>,
                now: Timestamp,
                after_seq: i64,
                limit: i64,
            ) -> StoreResult<Vec<RoomRow>> {
                // Mirrors `RoomRow::status_at`: a `scheduled` room whose start passed is active.
                let filter = match status {
                    None => "",
                    Some(RoomStatus::Ended) => "AND r.ended_at IS NOT NULL",
                    Some(RoomStatus::Scheduled) => {
                        "AND r.ended_at IS NULL AND r.status = 'scheduled' \
                         AND COALESCE(r.scheduled_start, 0) > $4"
                    }
                    Some(RoomStatus::Active) => {
                        "AND r.ended_at IS NULL AND NOT (r.status = 'scheduled' \
                         AND COALESCE(r.scheduled_start, 0) > $4)"
                    }
                };
                let sql = sqlx::AssertSqlSafe(format!(
                    "{ROOM_SELECT} WHERE r.tenant_id = $1 AND r.seq > $2 {filter} ORDER BY r.seq LIMIT $3"
                ));
                let mut query = sqlx::query(sql).bind(tenant_id).bind(after_seq).bind(limit);
                if matches!(status, Some(RoomStatus::Scheduled | RoomStatus::Active)) {
                    query = query.bind(now);
                }
                let rows = query.fetch_all(&self.$reader).await.map_err(store_error)?;
                rows.iter().map(room_from_row).collect()
            }

            pub(super) async fn end_room_tx(
                &self,
                tenant_id: &str,
                room_id: &str,
                now: Timestamp,
            ) -> StoreResult<EndRoomOutcome> {
                let mut tx = self.begin().await?;
                let Some(room) = room_in(&mut tx, tenant_id, room_id).await? else {
                    return Ok(EndRoomOutcome::NotFound);
                };
                if room.ended_at.is_some() {
                    return Ok(EndRoomOutcome::AlreadyEnded(Box::new(room)));
                }
                end_open_room(&mut tx, tenant_id, room_id, now).await?;
                let room = room_in(&mut tx, tenant_id, room_id)
                    .await?
                    .ok_or_else(|| StoreError::Internal("ended room vanished".into()))?;
                tx.commit().await.map_err(store_error)?;
                Ok(EndRoomOutcome::Ended(Box::new(room)))
            }

            pub(super) async fn add_participant_tx(
                &self,
                new: NewParticipant,
                rules: JoinRules,
            ) -> StoreResult<JoinOutcome> {
                let now = new.joined_at;
                let mut tx = self.begin().await?;
                let Some(limits) = lock_tenant(&mut tx, &new.tenant_id).await? else {
                    return Ok(JoinOutcome::RoomNotFound);
                };
                let mut created_room = false;
                let room = match room_in(&mut tx, &new.tenant_id, &new.room_id).await? {
                    Some(room) => room,
                    None => {
                        let Some(to_create) = rules.create_if_missing.filter(|_| rules.allow_early_join)
                        else {
                            return Ok(JoinOutcome::RoomNotFound);
                        };
                        if open_rooms(&mut tx, &new.tenant_id).await? >= limits.max_concurrent_rooms {
                            return Ok(JoinOutcome::RoomQuotaExceeded {
                                limit: limits.max_concurrent_rooms,
                            });
                        }
                        insert_room(&mut tx, &to_create).await?;
                        created_room = true;
                        room_in(&mut tx, &new.tenant_id, &new.room_id)
                            .await?
                            .ok_or_else(|| StoreError::Internal("inserted room vanished".into()))?
                    }
                };
                if room.ended_at.is_some() {
                    return Ok(JoinOutcome::RoomEnded);
                }
                if let Some(start) = room.scheduled_start
                    && start > now
                    && !rules.allow_early_join
                {
                    return Ok(JoinOutcome::NotStarted {
                        scheduled_start: start,
                    });
                }
                let mut replaced = None;
                if let Some(user_id) = &new.user_id {
                    let existing: Option<String> = sqlx::query_scalar(
                        "SELECT id FROM participants WHERE tenant_id = $1 AND room_id = $2 \
                         AND user_id = $3 AND left_at IS NULL",
                    )
                    .bind(&new.tenant_id)
                    .bind(&new.room_id)
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(store_error)?;
                    if let Some(existing) = existing {
                        match rules.duplicate_policy {
                            DuplicateParticipantPolicy::Reject => {
                                return Ok(JoinOutcome::DuplicateUser { existing });
                            }
                            DuplicateParticipantPolicy::DisconnectExisting => {
                                disconnect(&mut tx, &existing, now).await?;
                                replaced = Some(existing);
                            }
                        }
                    }
                }
                let limit = room
                    .max_participants
                    .map_or(limits.max_participants_per_room, |m| {
                        m.min(limits.max_participants_per_room)
                    });
                let present: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM participants WHERE tenant_id = $1 AND room_id = $2 \
                     AND left_at IS NULL",
                )
                .bind(&new.tenant_id)
                .bind(&new.room_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(store_error)?;
                if present >= limit {
                    // Dropping the transaction rolls back the replacement above.
                    return Ok(JoinOutcome::RoomFull { limit });
                }
                sqlx::query(
                    "INSERT INTO participants (id, tenant_id, room_id, user_id, display_name, role, \
                     joined_at, token_generation) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)",
                )
                .bind(&new.id)
                .bind(&new.tenant_id)
                .bind(&new.room_id)
                .bind(&new.user_id)
                .bind(&new.display_name)
                .bind(new.role.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
                sqlx::query(
                    "UPDATE rooms SET empty_since = NULL, \
                     status = CASE WHEN status = 'scheduled' THEN 'active' ELSE status END \
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(&new.tenant_id)
                .bind(&new.room_id)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
                let participant = participant_in(&mut tx, &new.id).await?;
                let room = room_in(&mut tx, &new.tenant_id, &new.room_id)
                    .await?
                    .ok_or_else(|| StoreError::Internal("joined room vanished".into()))?;
                tx.commit().await.map_err(store_error)?;
                Ok(JoinOutcome::Joined {
                    participant: Box::new(participant),
                    room: Box::new(room),
                    replaced,
                    created_room,
                })
            }

            pub(super) async fn participant_auth_row(
                &self,
                participant_id: &str,
            ) -> StoreResult<Option<ParticipantAuth>> {
                let row = sqlx::query(
                    "SELECT p.*, r.ended_at AS room_ended_at, t.status AS tenant_status, \
                     t.rate_limit_per_minute AS tenant_rate_limit \
                     FROM participants p \
                     JOIN rooms r ON r.tenant_id = p.tenant_id AND r.id = p.room_id \
                     JOIN tenants t ON t.id = p.tenant_id \
                     WHERE p.id = $1",
                )
                .bind(participant_id)
                .fetch_optional(&self.$reader)
                .await
                .map_err(store_error)?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some(ParticipantAuth {
                    participant: participant_from_row(&row)?,
                    room_ended: row
                        .try_get::<Option<i64>, _>("room_ended_at")
                        .map_err(column_error)?
                        .is_some(),
                    tenant_status: parse_status(row.try_get::<&str, _>("tenant_status").map_err(column_error)?)?,
                    rate_limit_per_minute: row.try_get("tenant_rate_limit").map_err(column_error)?,
                }))
            }

            pub(super) async fn rotate_participant_tx(
                &self,
                tenant_id: &str,
                room_id: &str,
                participant_id: &str,
                expected_generation: Option<i64>,
            ) -> StoreResult<RotateParticipantOutcome> {
                let mut tx = self.begin().await?;
                let rotated = sqlx::query(
                    "UPDATE participants SET token_generation = token_generation + 1 \
                     WHERE id = $1 AND tenant_id = $2 AND room_id = $3 AND left_at IS NULL \
                     AND ($4 IS NULL OR token_generation = $4) \
                     AND EXISTS (SELECT 1 FROM rooms r WHERE r.tenant_id = $2 AND r.id = $3 \
                                 AND r.ended_at IS NULL) \
                     RETURNING *",
                )
                .bind(participant_id)
                .bind(tenant_id)
                .bind(room_id)
                .bind(expected_generation)
                .fetch_optional(&mut *tx)
                .await
                .map_err(store_error)?;
                let outcome = match rotated {
                    Some(row) => RotateParticipantOutcome::Rotated(Box::new(participant_from_row(&row)?)),
                    None if expected_generation.is_some() => {
                        let live = sqlx::query(
                            "SELECT 1 FROM participants p JOIN rooms r \
                             ON r.tenant_id = p.tenant_id AND r.id = p.room_id \
                             WHERE p.id = $1 AND p.tenant_id = $2 AND p.room_id = $3 \
                             AND p.left_at IS NULL AND r.ended_at IS NULL",
                        )
                        .bind(participant_id)
                        .bind(tenant_id)
                        .bind(room_id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(store_error)?;
                        if live.is_some() {
                            RotateParticipantOutcome::Stale
                        } else {
                            RotateParticipantOutcome::NotFound
                        }
                    }
                    None => RotateParticipantOutcome::NotFound,
                };
                tx.commit().await.map_err(store_error)?;
                Ok(outcome)
            }

            pub(super) async fn remove_participant_tx(
                &self,
                tenant_id: &str,
                room_id: &str,
                participant_id: &str,
                now: Timestamp,
            ) -> StoreResult<bool> {
                let mut tx = self.begin().await?;
                let removed = sqlx::query(
                    "UPDATE participants SET left_at = $4, token_generation = token_generation + 1 \
                     WHERE id = $1 AND tenant_id = $2 AND room_id = $3 AND left_at IS NULL \
                     AND EXISTS (SELECT 1 FROM rooms r WHERE r.tenant_id = $2 AND r.id = $3 \
                                 AND r.ended_at IS NULL)",
                )
                .bind(participant_id)
                .bind(tenant_id)
                .bind(room_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
                if removed.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query(
                    "UPDATE rooms SET empty_since = \
                       CASE WHEN scheduled_start > $3 THEN scheduled_start ELSE $3 END \
                     WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL AND NOT EXISTS \
                       (SELECT 1 FROM participants p WHERE p.tenant_id = $1 AND p.room_id = $2 \
                        AND p.left_at IS NULL)",
                )
                .bind(tenant_id)
                .bind(room_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
                tx.commit().await.map_err(store_error)?;
                Ok(true)
            }

            pub(super) async fn empty_room_rows(
                &self,
                empty_before: Timestamp,
                after_seq: i64,
                limit: i64,
            ) -> StoreResult<Vec<EmptyRoom>> {
                let rows = sqlx::query(
                    "SELECT r.seq, r.tenant_id, r.id, r.empty_since, t.config FROM rooms r \
                     JOIN tenants t ON t.id = r.tenant_id \
                     WHERE r.ended_at IS NULL AND r.empty_since IS NOT NULL AND r.empty_since <= $1 \
                     AND r.seq > $2 ORDER BY r.seq LIMIT $3",
                )
                .bind(empty_before)
                .bind(after_seq)
                .bind(limit)
                .fetch_all(&self.$reader)
                .await
                .map_err(store_error)?;
                rows.iter()
                    .map(|row| {
                        Ok(EmptyRoom {
                            seq: row.try_get("seq").map_err(column_error)?,
                            tenant_id: row.try_get("tenant_id").map_err(column_error)?,
                            room_id: row.try_get("id").map_err(column_error)?,
                            empty_since: row.try_get("empty_since").map_err(column_error)?,
                            tenant_config: row.try_get("config").map_err(column_error)?,
                        })
                    })
                    .collect()
            }

            pub(super) async fn end_room_if_empty_tx(
                &self,
                tenant_id: &str,
                room_id: &str,
                empty_since: Timestamp,
                now: Timestamp,
            ) -> StoreResult<bool> {
                let mut tx = self.begin().await?;
                let still_empty = sqlx::query(
                    "SELECT 1 FROM rooms WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL \
                     AND empty_since = $3",
                )
                .bind(tenant_id)
                .bind(room_id)
                .bind(empty_since)
                .fetch_optional(&mut *tx)
                .await
                .map_err(store_error)?;
                if still_empty.is_none() {
                    return Ok(false);
                }
                end_open_room(&mut tx, tenant_id, room_id, now).await?;
                tx.commit().await.map_err(store_error)?;
                Ok(true)
            }
        }

        /// Ends an open room and lets its participants go (their tokens die).
        async fn end_open_room(
            tx: &mut Tx,
            tenant_id: &str,
            room_id: &str,
            now: Timestamp,
        ) -> StoreResult<()> {
            sqlx::query(
                "UPDATE rooms SET status = 'ended', ended_at = $3, empty_since = NULL \
                 WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL",
            )
            .bind(tenant_id)
            .bind(room_id)
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(store_error)?;
            sqlx::query(
                "UPDATE participants SET left_at = $3, token_generation = token_generation + 1 \
                 WHERE tenant_id = $1 AND room_id = $2 AND left_at IS NULL",
            )
            .bind(tenant_id)
            .bind(room_id)
            .bind(now)
            .execute(&mut **tx)
            .await
            .map(|_| ())
            .map_err(store_error)
        }
    };
}

pub(crate) use room_queries;
