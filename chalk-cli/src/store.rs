//! Where `chalk login` keeps things: profiles in `profiles.json` under the config directory,
//! secrets in the OS keyring, or — where there is none (headless Linux, CI containers) — in
//! `credentials.json` beside the profiles, mode 0600.
//!
//! The config directory is `$CHALK_CONFIG_DIR`, else the platform's config directory plus
//! `chalk` (`$XDG_CONFIG_HOME/chalk` or `~/.config/chalk` on Linux).
//!
//! The keyring is reached through `keyring_core::Entry`, so whatever store is the default
//! is used: the platform store that `keyring` installs, or a mock in tests.
//!
//! Both files are read, changed and written back whole, and two `chalk` processes may do
//! that at once (parallel CI jobs logging in to several profiles): each change is made
//! under the directory's [`ConfigLock`], so none is lost, and written through a temporary
//! file of its own, so none is torn.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};

const KEYRING_SERVICE: &str = "chalk";
const PROFILES_FILE: &str = "profiles.json";
const CREDENTIALS_FILE: &str = "credentials.json";
const LOCK_FILE: &str = "config.lock";
pub const DEFAULT_PROFILE: &str = "default";

pub fn config_dir() -> CliResult<PathBuf> {
    if let Some(dir) = std::env::var_os("CHALK_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::config_dir()
        .map(|d| d.join("chalk"))
        .ok_or_else(|| CliError::other("no config directory found: set CHALK_CONFIG_DIR"))
}

/// Which kind of credential a profile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    MasterKey,
    ApiKey,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::MasterKey => "master key",
            CredentialKind::ApiKey => "api key",
        }
    }
}

/// Where a profile's secret lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    Keyring,
    File,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub api_url: String,
    pub credential: CredentialKind,
    pub store: StoreKind,
    /// The tenant an API key belongs to, as the server said at login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profiles {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

impl Profiles {
    pub fn load(dir: &Path) -> CliResult<Profiles> {
        let path = dir.join(PROFILES_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                CliError::other(format!(
                    "{} is not a valid profiles file ({e}); fix or delete it",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Profiles::default()),
            Err(e) => Err(CliError::other(format!(
                "could not read {}: {e}",
                path.display()
            ))),
        }
    }

    /// Writes them back; `_lock` is held since they were loaded, so no other process
    /// changed them in between.
    pub fn save(&self, dir: &Path, _lock: &ConfigLock) -> CliResult<()> {
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| CliError::other(format!("could not encode profiles: {e}")))?;
        write_private(&dir.join(PROFILES_FILE), &bytes)
    }

    /// The profile to use: the one named, else the current one, else `default`.
    pub fn active_name(&self, named: Option<&str>) -> String {
        named
            .map(str::to_owned)
            .or_else(|| self.current.clone())
            .unwrap_or_else(|| DEFAULT_PROFILE.to_owned())
    }
}

/// The exclusive lock on the config directory's files: whoever holds it may read one,
/// change it and write it back without another process's change in between. Released
/// when dropped (and by the OS if the process dies, so a crash leaves no stale lock).
#[derive(Debug)]
pub struct ConfigLock {
    _file: fs::File,
}

/// Waits for and takes `dir`'s [`ConfigLock`] (an advisory lock on `config.lock` in it).
/// Take it before loading what is to be changed, and only around local work: never
/// across a request to the server.
pub fn lock(dir: &Path) -> CliResult<ConfigLock> {
    let path = dir.join(LOCK_FILE);
    let fail =
        |e: std::io::Error| CliError::other(format!("could not lock {}: {e}", path.display()));
    create_private_dir(dir).map_err(fail)?;
    let mut options = fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path).map_err(fail)?;
    file.lock().map_err(fail)?;
    Ok(ConfigLock { _file: file })
}

/// Writes a file only its owner can read (0600): into a temporary file of its own in the
/// same directory (a unique name, so two writers never share one), synced, renamed over
/// `path` (so a crash never leaves half a file), and the directory synced (so the rename
/// itself survives a power loss).
pub fn write_private(path: &Path, bytes: &[u8]) -> CliResult<()> {
    let fail =
        |e: std::io::Error| CliError::other(format!("could not write {}: {e}", path.display()));
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    create_private_dir(dir).map_err(fail)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Created with O_EXCL and mode 0600; removed again if anything below fails.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    #[cfg(unix)]
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(fail)?;
    Ok(())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// A place secrets are kept, one per profile name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretStore {
    Keyring,
    File(PathBuf),
}

impl SecretStore {
    pub fn of(kind: StoreKind, dir: &Path) -> SecretStore {
        match kind {
            StoreKind::Keyring => SecretStore::Keyring,
            StoreKind::File => SecretStore::File(dir.join(CREDENTIALS_FILE)),
        }
    }

    pub fn kind(&self) -> StoreKind {
        match self {
            SecretStore::Keyring => StoreKind::Keyring,
            SecretStore::File(_) => StoreKind::File,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            SecretStore::Keyring => "the OS keyring".into(),
            SecretStore::File(path) => format!("{} (mode 0600)", path.display()),
        }
    }

    pub fn get(&self, profile: &str) -> CliResult<Option<String>> {
        match self {
            SecretStore::Keyring => match entry(profile)?.get_password() {
                Ok(secret) => Ok(Some(secret)),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(keyring_error(e)),
            },
            SecretStore::File(path) => Ok(read_file_secrets(path)?.remove(profile)),
        }
    }

    /// Keeps `secret` for `profile`; `_lock` is the config directory's, which the file
    /// store's read-change-write needs (the keyring's entries are separate already).
    pub fn set(&self, _lock: &ConfigLock, profile: &str, secret: &str) -> CliResult<()> {
        match self {
            SecretStore::Keyring => entry(profile)?.set_password(secret).map_err(keyring_error),
            SecretStore::File(path) => {
                let mut secrets = read_file_secrets(path)?;
                secrets.insert(profile.to_owned(), secret.to_owned());
                write_file_secrets(path, &secrets)
            }
        }
    }

    /// Forgets the secret; forgetting one that is not there is fine. `_lock` as for `set`.
    pub fn delete(&self, _lock: &ConfigLock, profile: &str) -> CliResult<()> {
        match self {
            SecretStore::Keyring => match entry(profile)?.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(e) => Err(keyring_error(e)),
            },
            SecretStore::File(path) => {
                let mut secrets = read_file_secrets(path)?;
                if secrets.remove(profile).is_some() {
                    write_file_secrets(path, &secrets)?;
                }
                Ok(())
            }
        }
    }
}

fn entry(profile: &str) -> CliResult<keyring_core::Entry> {
    keyring_core::Entry::new(KEYRING_SERVICE, profile).map_err(keyring_error)
}

fn keyring_error(e: keyring_core::Error) -> CliError {
    CliError::other(format!(
        "the OS keyring failed: {e}; set CHALK_CREDENTIAL_STORE=file to keep credentials in a 0600 file instead"
    ))
}

#[derive(Default, Serialize, Deserialize)]
struct FileSecrets {
    #[serde(default)]
    profiles: BTreeMap<String, String>,
}

fn read_file_secrets(path: &Path) -> CliResult<BTreeMap<String, String>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice::<FileSecrets>(&bytes)
            .map(|f| f.profiles)
            .map_err(|e| {
                CliError::other(format!(
                    "{} is not a valid credentials file ({e}); fix or delete it",
                    path.display()
                ))
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(CliError::other(format!(
            "could not read {}: {e}",
            path.display()
        ))),
    }
}

fn write_file_secrets(path: &Path, secrets: &BTreeMap<String, String>) -> CliResult<()> {
    let file = FileSecrets {
        profiles: secrets.clone(),
    };
    let bytes = serde_json::to_vec_pretty(&file)
        .map_err(|e| CliError::other(format!("could not encode credentials: {e}")))?;
    write_private(path, &bytes)
}

/// Where a new secret goes. `preference` is `CHALK_CREDENTIAL_STORE`: `keyring`, `file` or
/// `auto` (unset): the keyring when one is available, else the file, with a notice saying so.
pub fn choose(dir: &Path, preference: Option<&str>) -> CliResult<(SecretStore, Option<String>)> {
    let file = SecretStore::File(dir.join(CREDENTIALS_FILE));
    match preference.map(str::trim).filter(|p| !p.is_empty()) {
        None | Some("auto") => {
            if keyring_available() {
                Ok((SecretStore::Keyring, None))
            } else {
                let notice = format!(
                    "no OS keyring available; storing the credential in {}",
                    file.describe()
                );
                Ok((file, Some(notice)))
            }
        }
        Some("keyring") => {
            if keyring_available() {
                Ok((SecretStore::Keyring, None))
            } else {
                Err(CliError::other(
                    "CHALK_CREDENTIAL_STORE=keyring but no OS keyring is available",
                ))
            }
        }
        Some("file") => Ok((file, None)),
        Some(other) => Err(CliError::usage(format!(
            "CHALK_CREDENTIAL_STORE=`{other}`: expected auto, keyring or file"
        ))),
    }
}

/// Whether a keyring store is installed, installing the platform's on first use. A store
/// set beforehand (the mock, in tests) is kept.
fn keyring_available() -> bool {
    keyring_core::get_default_store().is_some() || keyring::Entry::store_status().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyring_round_trip_through_the_default_store() {
        keyring_core::set_default_store(keyring_core::mock::Store::new().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let (store, notice) = choose(dir.path(), None).unwrap();
        assert_eq!(store, SecretStore::Keyring);
        assert_eq!(notice, None);
        let lock = lock(dir.path()).unwrap();

        assert_eq!(store.get("kr-test").unwrap(), None);
        store.set(&lock, "kr-test", "sk_live_secret").unwrap();
        assert_eq!(
            store.get("kr-test").unwrap().as_deref(),
            Some("sk_live_secret")
        );
        // Another entry object for the same profile sees the same secret.
        assert_eq!(
            keyring_core::Entry::new(KEYRING_SERVICE, "kr-test")
                .unwrap()
                .get_password()
                .unwrap(),
            "sk_live_secret"
        );
        store.delete(&lock, "kr-test").unwrap();
        assert_eq!(store.get("kr-test").unwrap(), None);
        store.delete(&lock, "kr-test").unwrap();
        // Nothing was written to disk.
        assert!(!dir.path().join(CREDENTIALS_FILE).exists());
    }

    #[cfg(unix)]
    #[test]
    fn file_fallback_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("nested/chalk");
        let (store, notice) = choose(&config, Some("file")).unwrap();
        assert_eq!(store.kind(), StoreKind::File);
        assert_eq!(notice, None);
        let lock = lock(&config).unwrap();
        store.set(&lock, "ci", "sk_live_one").unwrap();
        store.set(&lock, "other", "mk_two").unwrap();

        let path = config.join(CREDENTIALS_FILE);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "credentials file mode {mode:o}");
        let dir_mode = fs::metadata(&config).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700, "config dir mode {dir_mode:o}");

        assert_eq!(store.get("ci").unwrap().as_deref(), Some("sk_live_one"));
        store.delete(&lock, "ci").unwrap();
        assert_eq!(store.get("ci").unwrap(), None);
        assert_eq!(store.get("other").unwrap().as_deref(), Some("mk_two"));

        // A file loosened by hand is private again after the next write.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        store.set(&lock, "ci", "sk_live_three").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn unknown_store_preference_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = choose(dir.path(), Some("vault")).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::USAGE);
    }

    #[test]
    fn active_profile_is_named_then_current_then_default() {
        let mut profiles = Profiles::default();
        assert_eq!(profiles.active_name(None), "default");
        profiles.current = Some("staging".into());
        assert_eq!(profiles.active_name(None), "staging");
        assert_eq!(profiles.active_name(Some("prod")), "prod");
    }
}
