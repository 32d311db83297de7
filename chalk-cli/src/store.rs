//! Where `chalk login` keeps things: profiles in `profiles.json` under the config directory,
//! secrets in the OS keyring, or — where there is none (headless Linux, CI containers) — in
//! `credentials.json` beside the profiles, mode 0600.
//!
//! The config directory is `$CHALK_CONFIG_DIR`, else the platform's config directory plus
//! `chalk` (`$XDG_CONFIG_HOME/chalk` or `~/.config/chalk` on Linux).
//!
//! The keyring is reached through `keyring_core::Entry`, so whatever store is the default
//! is used: the platform store that `keyring` installs, or a mock in tests.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CliError, CliResult};

const KEYRING_SERVICE: &str = "chalk";
const PROFILES_FILE: &str = "profiles.json";
const CREDENTIALS_FILE: &str = "credentials.json";
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

    pub fn save(&self, dir: &Path) -> CliResult<()> {
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

/// Writes a file only its owner can read (0600), through a temporary file and a rename so
/// a crash never leaves half a file.
pub fn write_private(path: &Path, bytes: &[u8]) -> CliResult<()> {
    let fail =
        |e: std::io::Error| CliError::other(format!("could not write {}: {e}", path.display()));
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir).map_err(fail)?;
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(fail)?;
    #[cfg(unix)]
    {
        // An existing temporary file keeps its old mode: set it again.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(fail)?;
    }
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    fs::rename(&tmp, path).map_err(fail)
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

    pub fn set(&self, profile: &str, secret: &str) -> CliResult<()> {
        match self {
            SecretStore::Keyring => entry(profile)?.set_password(secret).map_err(keyring_error),
            SecretStore::File(path) => {
                let mut secrets = read_file_secrets(path)?;
                secrets.insert(profile.to_owned(), secret.to_owned());
                write_file_secrets(path, &secrets)
            }
        }
    }

    /// Forgets the secret; forgetting one that is not there is fine.
    pub fn delete(&self, profile: &str) -> CliResult<()> {
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

        assert_eq!(store.get("kr-test").unwrap(), None);
        store.set("kr-test", "sk_live_secret").unwrap();
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
        store.delete("kr-test").unwrap();
        assert_eq!(store.get("kr-test").unwrap(), None);
        store.delete("kr-test").unwrap();
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
        store.set("ci", "sk_live_one").unwrap();
        store.set("other", "mk_two").unwrap();

        let path = config.join(CREDENTIALS_FILE);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "credentials file mode {mode:o}");
        let dir_mode = fs::metadata(&config).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700, "config dir mode {dir_mode:o}");

        assert_eq!(store.get("ci").unwrap().as_deref(), Some("sk_live_one"));
        store.delete("ci").unwrap();
        assert_eq!(store.get("ci").unwrap(), None);
        assert_eq!(store.get("other").unwrap().as_deref(), Some("mk_two"));

        // A file loosened by hand is private again after the next write.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        store.set("ci", "sk_live_three").unwrap();
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
