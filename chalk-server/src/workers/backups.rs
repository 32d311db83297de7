//! Scheduled backups (`CHALK_BACKUP_DIR`): every interval, a sealed backup of the embedded
//! store into the directory, then the oldest deleted beyond `keep`. Each outcome is logged
//! and shown on `/metrics`; a failure (a full disk, an unwritable directory) is counted
//! and retried at the next interval, and never touches serving: the snapshot is read on a
//! connection of its own, in a read transaction the server's writer does not wait for.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::domain::backup::{self, BackupKey};
use crate::domain::core::Core;

/// What `CHALK_BACKUP_*` asked for.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The SQLite database file.
    pub database: PathBuf,
    pub dir: PathBuf,
    pub interval: Duration,
    pub keep: usize,
    pub key: BackupKey,
}

/// Runs the schedule until the returned handle is aborted.
pub fn spawn(core: Core, schedule: Schedule) -> tokio::task::JoinHandle<()> {
    core.metrics.backups_scheduled();
    tokio::spawn(async move {
        // A restart does not postpone a backup that is due: the first one comes an interval
        // after the newest already in the directory, or now.
        let first = tokio::time::Instant::now() + until_due(&schedule);
        let mut ticks = tokio::time::interval_at(first, schedule.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            run_once(&core, &schedule).await;
        }
    })
}

fn until_due(schedule: &Schedule) -> Duration {
    let newest = backup::scheduled_backups(&schedule.dir)
        .ok()
        .and_then(|found| found.last().cloned())
        .and_then(|path| std::fs::metadata(path).ok())
        .and_then(|meta| meta.modified().ok())
        .and_then(|at| at.elapsed().ok());
    match newest {
        Some(age) => schedule.interval.saturating_sub(age),
        None => Duration::ZERO,
    }
}

/// One scheduled backup and its retention.
pub async fn run_once(core: &Core, schedule: &Schedule) {
    let started = Instant::now();
    let target = schedule
        .dir
        .join(backup::scheduled_name(chrono::Utc::now()));
    let taken = match backup::create_private_dir(&schedule.dir) {
        Ok(()) => backup::take(&schedule.database, &schedule.key, &target)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!(
            "cannot create the backup directory {}: {e}",
            schedule.dir.display()
        )),
    };
    match taken {
        Ok(manifest) => {
            core.metrics.backup_succeeded(crate::clock::now());
            tracing::info!(
                file = %target.display(),
                tenants = manifest.tenant_count,
                bytes = manifest.database_bytes,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "scheduled backup written"
            );
            match backup::prune(&schedule.dir, schedule.keep) {
                Ok(deleted) => {
                    for path in deleted {
                        tracing::info!(file = %path.display(), "old backup deleted (CHALK_BACKUP_KEEP)");
                    }
                }
                Err(e) => tracing::warn!(
                    dir = %schedule.dir.display(),
                    error = %e,
                    "cannot delete old backups"
                ),
            }
        }
        Err(error) => {
            core.metrics.backup_failed();
            tracing::error!(file = %target.display(), %error, "scheduled backup failed");
        }
    }
}
