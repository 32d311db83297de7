//! Backups of the embedded SQLite store (docs/api.md "Backup and restore"): taking one,
//! checking one, restoring one, and the scheduled backups' names and retention. The
//! `backup`/`restore` commands (`app/backup.rs`) and the scheduled worker
//! (`workers/backups.rs`) both work through here, so there is one way to write a backup.
//!
//! A backup is a snapshot of the database ([`crate::store::snapshot`]) sealed with a key
//! derived from `CHALK_ENCRYPTION_KEY` ([`sealed`]), beside a manifest. Files appear whole
//! or not at all: each is written under a temporary name in its final directory, synced,
//! then renamed. The plaintext snapshot only ever lives in a private (0700) scratch
//! directory that is removed when the operation ends.

pub mod sealed;

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::{CryptoError, derive_key, random_base62};
use crate::store::snapshot;
use sealed::OpenError;

/// The key a backup is sealed with and the fingerprint that names it, both derived from
/// `CHALK_ENCRYPTION_KEY` under labels of their own. `Debug` shows only the fingerprint.
#[derive(Clone)]
pub struct BackupKey {
    cipher_key: [u8; 32],
    fingerprint: [u8; 8],
}

impl std::fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BackupKey(fingerprint {})", self.fingerprint())
    }
}

impl BackupKey {
    pub fn from_encryption_key(key_base64: &str) -> Result<Self, CryptoError> {
        let cipher_key = derive_key(key_base64, "chalk backup seal v1")?;
        let fingerprint = derive_key(key_base64, "chalk backup key fingerprint v1")?;
        Ok(Self {
            cipher_key,
            fingerprint: fingerprint[..8].try_into().expect("8 of 32 bytes"),
        })
    }

    /// 16 hex characters: enough to tell keys apart, nothing to recover one from.
    pub fn fingerprint(&self) -> String {
        crate::crypto::hex(&self.fingerprint)
    }

    fn fingerprint_bytes(&self) -> &[u8; 8] {
        &self.fingerprint
    }

    fn cipher_key(&self) -> &[u8; 32] {
        &self.cipher_key
    }
}

/// What a backup says about itself (sealed with it; printed by `backup --verify`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u8,
    /// The last migration applied to the backed-up database.
    pub schema_version: i64,
    pub server_version: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub tenant_count: i64,
    pub database_bytes: u64,
    /// `sha256:` and the hex SHA-256 of the database file.
    pub checksum: String,
    pub key_fingerprint: String,
}

/// Why a backup, a check or a restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file cannot be restored or trusted: damaged, truncated, another key, not a backup.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The file opened, but what it holds is not what its manifest promised.
    #[error("the backup is damaged: {0}")]
    Damaged(String),
    /// The restore was refused before anything changed (a non-empty directory, a newer
    /// schema).
    #[error("{0}")]
    Refused(String),
    /// Anything else: the database, the disk.
    #[error("{0}")]
    Failed(String),
}

fn failed(what: impl std::fmt::Display) -> impl FnOnce(io::Error) -> BackupError {
    move |e| BackupError::Failed(format!("{what}: {e}"))
}

/// Takes a consistent snapshot of the SQLite database at `database` (while the server
/// keeps writing) and writes it, sealed with `key`, to `target`.
pub async fn take(
    database: &Path,
    key: &BackupKey,
    target: &Path,
) -> Result<Manifest, BackupError> {
    // The snapshot is plaintext: it is made beside the database, which is no less private.
    let scratch = Scratch::create(database.parent().unwrap_or(Path::new(".")))?;
    let snapshot_path = scratch.path().join("snapshot.db");
    create_private(&snapshot_path).map_err(failed("cannot create the snapshot file"))?;
    snapshot::vacuum_into(database, &snapshot_path)
        .await
        .map_err(BackupError::Failed)?;
    let facts = snapshot::facts(&snapshot_path)
        .await
        .map_err(|e| BackupError::Failed(format!("the snapshot is not sound: {e}")))?;
    let key = key.clone();
    let target = target.to_owned();
    tokio::task::spawn_blocking(move || {
        let (checksum, database_bytes) =
            checksum_of(&snapshot_path).map_err(failed("cannot read the snapshot"))?;
        let manifest = Manifest {
            format_version: sealed::FORMAT_VERSION,
            schema_version: facts.schema_version,
            server_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at: chrono::Utc::now(),
            tenant_count: facts.tenant_count,
            database_bytes,
            checksum,
            key_fingerprint: key.fingerprint(),
        };
        let manifest_json = serde_json::to_vec(&manifest).expect("a manifest serializes");
        write_atomically(&target, |out| {
            let mut database = BufReader::new(File::open(&snapshot_path)?);
            sealed::seal(&key, &manifest_json, &mut database, database_bytes, out)
        })
        .map_err(failed(format_args!("cannot write {}", target.display())))?;
        drop(scratch);
        Ok(manifest)
    })
    .await
    .map_err(|e| BackupError::Failed(format!("the backup task failed: {e}")))?
}

/// Checks a backup as a restore would (seal, checksum, SQLite's integrity check, the
/// manifest's facts) without restoring it, and returns its manifest.
pub async fn verify(file: &Path, key: &BackupKey) -> Result<Manifest, BackupError> {
    let scratch = Scratch::create(&std::env::temp_dir())?;
    let manifest = unseal_checked(file, key, &scratch.path().join("chalk.db")).await?;
    drop(scratch);
    Ok(manifest)
}

/// Restores a backup as the database of the data directory `data_dir`, which must be
/// empty or absent. Every refusal happens before `data_dir` is touched.
pub async fn restore(
    file: &Path,
    key: &BackupKey,
    data_dir: &Path,
) -> Result<Manifest, BackupError> {
    ensure_empty(data_dir)?;
    let parent = match data_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    // Unsealed beside the target directory, so the final move is a rename on one file
    // system.
    let scratch = Scratch::create(&parent)?;
    let unsealed = scratch.path().join("chalk.db");
    let manifest = unseal_checked(file, key, &unsealed).await?;
    let ours = snapshot::latest_schema_version();
    if manifest.schema_version > ours {
        return Err(BackupError::Refused(format!(
            "the backup's schema version {} is newer than this server's {ours}: restore it with \
             chalk-server {} or later",
            manifest.schema_version, manifest.server_version
        )));
    }
    ensure_empty(data_dir)?;
    create_private_dir(data_dir)
        .map_err(failed(format_args!("cannot create {}", data_dir.display())))?;
    let database = data_dir.join("chalk.db");
    fs::rename(&unsealed, &database).map_err(failed("cannot move the database into place"))?;
    sync_dir(data_dir).map_err(failed("cannot sync the data directory"))?;
    drop(scratch);
    Ok(manifest)
}

/// Refuses a data directory that holds anything (or is not a directory).
fn ensure_empty(data_dir: &Path) -> Result<(), BackupError> {
    match fs::read_dir(data_dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::Refused(format!(
                    "{} is not empty: restore only into an empty or absent data directory",
                    data_dir.display()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BackupError::Refused(format!(
            "{} cannot be used as a data directory: {e}",
            data_dir.display()
        ))),
    }
}

/// Opens `file` with `key` into `target` (a new file), then checks it against its manifest.
async fn unseal_checked(
    file: &Path,
    key: &BackupKey,
    target: &Path,
) -> Result<Manifest, BackupError> {
    let (file, key, target_owned) = (file.to_owned(), key.clone(), target.to_owned());
    let manifest = tokio::task::spawn_blocking(move || unseal(&file, &key, &target_owned))
        .await
        .map_err(|e| BackupError::Failed(format!("the restore task failed: {e}")))??;
    let facts = snapshot::inspect(target)
        .await
        .map_err(BackupError::Damaged)?;
    if facts.schema_version != manifest.schema_version
        || facts.tenant_count != manifest.tenant_count
    {
        return Err(BackupError::Damaged(
            "the database does not hold what the manifest says".into(),
        ));
    }
    Ok(manifest)
}

fn unseal(file: &Path, key: &BackupKey, target: &Path) -> Result<Manifest, BackupError> {
    let input = File::open(file).map_err(failed(format_args!("cannot open {}", file.display())))?;
    let (mut opener, manifest) = sealed::Opener::new(key, BufReader::new(input))?;
    let manifest: Manifest = serde_json::from_slice(&manifest)
        .map_err(|e| BackupError::Damaged(format!("unreadable manifest: {e}")))?;
    let out = create_private(target).map_err(failed("cannot create the restored database"))?;
    let mut out = BufWriter::new(out);
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    while let Some(segment) = opener.next_segment()? {
        hasher.update(&segment);
        written += segment.len() as u64;
        out.write_all(&segment)
            .map_err(failed("cannot write the restored database"))?;
    }
    let file = out
        .into_inner()
        .map_err(|e| BackupError::Failed(format!("cannot write the restored database: {e}")))?;
    file.sync_all()
        .map_err(failed("cannot sync the restored database"))?;
    if written != manifest.database_bytes
        || format!("sha256:{}", crate::crypto::hex(&hasher.finalize())) != manifest.checksum
    {
        return Err(BackupError::Damaged(
            "the database's checksum does not match the manifest".into(),
        ));
    }
    Ok(manifest)
}

fn checksum_of(path: &Path) -> io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; sealed::CHUNK];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok((
                format!("sha256:{}", crate::crypto::hex(&hasher.finalize())),
                total,
            ));
        }
        hasher.update(&buffer[..n]);
        total += n as u64;
    }
}

/// Writes `target` through `write` under a temporary name in the same directory, syncs it,
/// renames it into place and syncs the directory: a crash at any point leaves either no
/// file or the whole file under `target`, never a part. The temporary file is removed when
/// `write` fails.
pub fn write_atomically(
    target: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::other("the target names no file"))?
        .to_string_lossy();
    let temporary = dir.join(format!(".{name}.{}.tmp", random_base62(8)));
    let result = (|| {
        let mut out = BufWriter::new(create_private(&temporary)?);
        write(&mut out)?;
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        fs::rename(&temporary, target)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

/// A new file readable by its owner only.
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// A directory readable by its owner only (docs/api.md: the data directory is 0700).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// A private scratch directory, removed with everything in it when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn create(parent: &Path) -> Result<Self, BackupError> {
        let path = parent.join(format!(".chalk-backup-{}", random_base62(12)));
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&path).map_err(failed(format_args!(
            "cannot create a scratch directory in {}",
            parent.display()
        )))?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Scheduled backups are named by their time, so names sort oldest first.
const SCHEDULED_PREFIX: &str = "chalk-";
const SCHEDULED_SUFFIX: &str = ".backup";

/// The file name of a scheduled backup taken at `at`.
pub fn scheduled_name(at: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "{SCHEDULED_PREFIX}{}{SCHEDULED_SUFFIX}",
        at.format("%Y%m%dT%H%M%S%3fZ")
    )
}

/// The scheduled backups in `dir`, oldest first. Other files are not ours and are ignored.
pub fn scheduled_backups(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with(SCHEDULED_PREFIX) && name.ends_with(SCHEDULED_SUFFIX)
        })
        .map(|entry| entry.path())
        .collect();
    found.sort();
    Ok(found)
}

/// Deletes all but the newest `keep` scheduled backups in `dir`; returns what it deleted.
pub fn prune(dir: &Path, keep: usize) -> io::Result<Vec<PathBuf>> {
    let found = scheduled_backups(dir)?;
    let excess = found.len().saturating_sub(keep);
    let doomed: Vec<PathBuf> = found.into_iter().take(excess).collect();
    for path in &doomed {
        fs::remove_file(path)?;
    }
    Ok(doomed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Sealer;

    #[test]
    fn keys_are_derived_and_debug_shows_only_the_fingerprint() {
        let raw = Sealer::generate_key_base64();
        let key = BackupKey::from_encryption_key(&raw).unwrap();
        assert_eq!(key.fingerprint().len(), 16);
        let debug = format!("{key:?}");
        assert!(debug.contains(&key.fingerprint()), "{debug}");
        assert!(!debug.contains(&raw));
        assert_ne!(
            key.fingerprint(),
            BackupKey::from_encryption_key(&Sealer::generate_key_base64())
                .unwrap()
                .fingerprint()
        );
    }

    #[test]
    fn retention_keeps_the_newest_and_ignores_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let start = chrono::Utc::now();
        for i in 0..5 {
            let name = scheduled_name(start + chrono::Duration::milliseconds(i * 1500));
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        let deleted = prune(dir.path(), 2).unwrap();
        assert_eq!(deleted.len(), 3);
        let left = scheduled_backups(dir.path()).unwrap();
        assert_eq!(left.len(), 2);
        assert!(left[1].ends_with(scheduled_name(start + chrono::Duration::milliseconds(6000))));
        assert!(dir.path().join("notes.txt").exists());
    }

    #[test]
    fn a_failed_write_leaves_nothing_under_either_name() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("b.backup");
        let error = write_atomically(&target, |out| {
            out.write_all(b"partial")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "disk full");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        write_atomically(&target, |out| out.write_all(b"whole")).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"whole");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
