//! `chalk-server backup --to FILE`, `backup --verify FILE` and `restore --from FILE
//! --data-dir DIR` (docs/api.md "Backup and restore"): settings in, a message and an exit
//! code out. What a backup is and how it is written lives in `domain/backup`.
//!
//! Exit codes: 0 done; 1 refused or damaged (nothing was changed); 2 usage, a missing
//! key, or a store these commands do not cover (PostgreSQL).

use std::path::Path;

use crate::app::settings::{BackupCommand, OutputFormat, RestoreCommand, Settings};
use crate::domain::backup::{self, BackupError, BackupKey, Manifest};
use crate::store::Dialect;
use crate::store::snapshot::sqlite_file;
use crate::workers::backups::Schedule;

/// Why a command stopped, and the exit code that says so.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

pub const EXIT_REFUSED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: EXIT_USAGE,
        message: message.into(),
    }
}

impl From<BackupError> for Failure {
    fn from(error: BackupError) -> Self {
        Failure {
            code: EXIT_REFUSED,
            message: error.to_string(),
        }
    }
}

/// The embedded store's database file, or exit 2 for PostgreSQL.
fn sqlite_database(settings: &Settings) -> Result<std::path::PathBuf, Failure> {
    let url = settings.database_url();
    match Dialect::of_url(&url).map_err(usage)? {
        Dialect::Postgres => Err(usage(
            "backup and restore cover the embedded SQLite store; back up PostgreSQL with its own \
             tools (pg_dump, or base backups with WAL archiving) and keep CHALK_ENCRYPTION_KEY \
             apart from the dump",
        )),
        Dialect::Sqlite => {
            sqlite_file(&url).ok_or_else(|| usage("CHALK_DATABASE_URL names no SQLite file"))
        }
    }
}

/// The key backups are sealed with: from CHALK_ENCRYPTION_KEY, or the key the server
/// generated into its data directory. Never generated here: a new key would seal a backup
/// nobody can restore.
fn backup_key(settings: &Settings, from_data_dir: bool) -> Result<BackupKey, Failure> {
    let text = match &settings.encryption_key {
        Some(key) => key.expose().to_owned(),
        None if from_data_dir => {
            let path = settings.data_dir.join("encryption.key");
            std::fs::read_to_string(&path).map_err(|e| {
                usage(format!(
                    "CHALK_ENCRYPTION_KEY is not set and {} cannot be read ({e}): set it to the \
                     server's encryption key",
                    path.display()
                ))
            })?
        }
        None => {
            return Err(usage(
                "set CHALK_ENCRYPTION_KEY to the encryption key the backup was sealed with (a \
                 generated one is the file encryption.key of the old data directory)",
            ));
        }
    };
    BackupKey::from_encryption_key(&text).map_err(|e| usage(format!("CHALK_ENCRYPTION_KEY: {e}")))
}

/// The scheduled backups `CHALK_BACKUP_DIR` asks for, checked before the store is opened:
/// settings that cannot work are refused plainly at start.
#[derive(Debug)]
pub struct PlannedSchedule {
    database: std::path::PathBuf,
    dir: std::path::PathBuf,
}

pub fn plan_schedule(settings: &Settings) -> Result<Option<PlannedSchedule>, String> {
    let Some(dir) = &settings.backup_dir else {
        return Ok(None);
    };
    if dir.as_os_str().is_empty() {
        return Err("CHALK_BACKUP_DIR is set but empty: name a directory, or unset it".into());
    }
    let database =
        sqlite_database(settings).map_err(|f| format!("CHALK_BACKUP_DIR: {}", f.message))?;
    Ok(Some(PlannedSchedule {
        database,
        dir: dir.clone(),
    }))
}

impl PlannedSchedule {
    /// With the encryption key the server resolved (given or generated).
    pub fn with_key(
        self,
        settings: &Settings,
        encryption_key: &chalk_sdk::SecretString,
    ) -> Result<Schedule, String> {
        let key = BackupKey::from_encryption_key(encryption_key.expose())
            .map_err(|e| format!("CHALK_ENCRYPTION_KEY: {e}"))?;
        Ok(Schedule {
            database: self.database,
            dir: self.dir,
            interval: settings.backup_interval,
            keep: settings.backup_keep as usize,
            key,
        })
    }
}

/// `backup --to FILE` or `backup --verify FILE`.
pub async fn backup(settings: &Settings, command: &BackupCommand) -> Result<(), Failure> {
    let database = sqlite_database(settings)?;
    let key = backup_key(settings, true)?;
    if let Some(file) = &command.verify {
        let manifest = backup::verify(file, &key).await?;
        print(command.output, &manifest, || {
            format!(
                "{} is sound: seal, checksum and integrity check pass.\n",
                file.display()
            )
        });
        return Ok(());
    }
    let target = command
        .to
        .as_deref()
        .ok_or_else(|| usage("backup needs --to FILE or --verify FILE"))?;
    refuse_directory(target)?;
    let manifest = backup::take(&database, &key, target).await?;
    print(command.output, &manifest, || {
        format!("Wrote {}.\n", target.display())
    });
    Ok(())
}

fn refuse_directory(target: &Path) -> Result<(), Failure> {
    if target.is_dir() {
        return Err(usage(format!(
            "--to {} is a directory: name the backup file",
            target.display()
        )));
    }
    Ok(())
}

/// `restore --from FILE --data-dir DIR`.
pub async fn restore(settings: &Settings, command: &RestoreCommand) -> Result<(), Failure> {
    sqlite_database(settings)?;
    let key = backup_key(settings, false)?;
    let manifest = backup::restore(&command.from, &key, &command.data_dir).await?;
    let dir = command.data_dir.display();
    print(command.output, &manifest, || {
        format!(
            "Restored {} into {dir}.\n\nStart the server with CHALK_DATA_DIR={dir} and the same \
             CHALK_ENCRYPTION_KEY (key fingerprint {}): set the variable, or write the key to \
             {dir}/encryption.key (mode 0600) before the first start. An older schema is \
             migrated at that start.\n",
            command.from.display(),
            manifest.key_fingerprint
        )
    });
    Ok(())
}

/// The manifest as JSON for scripts, or a headline and the manifest for people.
fn print(output: OutputFormat, manifest: &Manifest, headline: impl FnOnce() -> String) {
    match output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(manifest).expect("a manifest serializes")
        ),
        OutputFormat::Text => print!("{}\n{}", headline(), describe(manifest)),
    }
}

fn describe(m: &Manifest) -> String {
    format!(
        "  format version   {}\n  schema version   {}\n  server version   {}\n  created at       {}\n  \
         tenants          {}\n  database bytes   {}\n  checksum         {}\n  key fingerprint  {}\n",
        m.format_version,
        m.schema_version,
        m.server_version,
        m.created_at.to_rfc3339(),
        m.tenant_count,
        m.database_bytes,
        m.checksum,
        m.key_fingerprint
    )
}
