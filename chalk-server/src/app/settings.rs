//! Server settings: every one a flag and an environment variable (flags win), and the
//! secrets that are generated into the data directory when they are not given.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chalk_sdk::SecretString;

use crate::clock::parse_duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The Chalk tenant API server.
#[derive(Debug, Clone, Parser)]
#[command(name = "chalk-server", version, about)]
pub struct Settings {
    /// Without a command, the server runs with the flags below.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to serve on (`:0` picks a free port and logs it).
    #[arg(long, env = "CHALK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// Where the embedded database and generated secrets live.
    #[arg(long, env = "CHALK_DATA_DIR", default_value = "./chalk-data")]
    pub data_dir: PathBuf,

    /// `sqlite://…` or `postgres://…` (default: `sqlite://<data dir>/chalk.db`). PostgreSQL
    /// needs explicit CHALK_MASTER_KEY and CHALK_ENCRYPTION_KEY (and CHALK_JWT_SECRET in
    /// HS256 mode).
    #[arg(long, env = "CHALK_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Operator key for `X-Master-Key` (default: generated into the data dir).
    #[arg(long, env = "CHALK_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<SecretString>,

    /// `EdDSA`: tokens signed with Ed25519 keys kept (sealed) in the store and published at
    /// `/.well-known/jwks.json`. `HS256`: signed with CHALK_JWT_SECRET.
    #[arg(long, env = "CHALK_JWT_ALGORITHM", value_enum, default_value = "EdDSA")]
    pub jwt_algorithm: crate::domain::signing::JwtAlgorithm,

    /// HS256 signing secret shared by every instance (default: generated into the data dir).
    /// Used only when CHALK_JWT_ALGORITHM=HS256.
    #[arg(long, env = "CHALK_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,

    /// 32 bytes, base64: encrypts secrets at rest (default: generated into the data dir).
    #[arg(long, env = "CHALK_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<SecretString>,

    /// `redis://HOST:PORT`: share per-tenant rate limits between instances. Unset: each
    /// instance counts on its own. If Redis cannot be reached, requests are not refused:
    /// each instance falls back to counting on its own until Redis answers (fail open to
    /// per-instance limits).
    #[arg(long, env = "CHALK_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Allow `POST /tenants` without the master key.
    #[arg(long, env = "CHALK_OPEN_REGISTRATION", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub open_registration: bool,

    /// Let webhook URLs point to loopback, private and link-local addresses (and use plain
    /// `http://` to them): for development and tests, never in production.
    #[arg(long, env = "CHALK_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub webhook_allow_private: bool,

    /// Waits before each webhook retry, comma-separated (`5s,5m,30m`); after the last, a
    /// delivery is `exhausted`. Default: 5s, 5m, 30m, 2h, 5h, 10h, 10h.
    #[arg(long, env = "CHALK_WEBHOOK_RETRY_SCHEDULE", value_parser = crate::domain::webhook_schedule::parse_schedule)]
    pub webhook_retry_schedule: Option<crate::domain::webhook_schedule::Schedule>,

    /// A webhook attempt fails unless the receiver answers 2xx within this (resolution and
    /// connection included). The contract's 15 s; shorter for tests.
    #[arg(long, env = "CHALK_WEBHOOK_TIMEOUT", default_value = "15s", value_parser = parse_duration)]
    pub webhook_timeout: Duration,

    /// How often each instance looks for webhook deliveries that are due.
    #[arg(long, env = "CHALK_WEBHOOK_POLL_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub webhook_poll_interval: Duration,

    /// Requests per minute for new tenants.
    #[arg(long, env = "CHALK_DEFAULT_RATE_LIMIT", default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    pub default_rate_limit: i64,

    /// Access token lifetime, seconds.
    #[arg(long, env = "CHALK_ACCESS_TOKEN_TTL", default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..))]
    pub access_token_ttl: i64,

    /// Refresh token lifetime, seconds.
    #[arg(long, env = "CHALK_REFRESH_TOKEN_TTL", default_value_t = 2_592_000, value_parser = clap::value_parser!(i64).range(1..))]
    pub refresh_token_ttl: i64,

    /// tracing filter, e.g. `info,chalk_server=debug`.
    #[arg(long, env = "CHALK_LOG", default_value = "info")]
    pub log: String,

    /// `text` for people, `json` for machines.
    #[arg(long, env = "CHALK_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Requests per minute for each participant token (per participant, apart from its
    /// tenant's own limit).
    #[arg(long, env = "CHALK_PARTICIPANT_RATE_LIMIT", default_value_t = 120, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    pub participant_rate_limit: i64,

    /// With open registration, tenants one client address may create per hour without the
    /// master key; past it `POST /tenants` is 429 until the hour ends.
    #[arg(long, env = "CHALK_REGISTRATION_RATE_LIMIT", default_value_t = 10, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    pub registration_rate_limit: i64,

    /// Days audit log entries are kept before the background purge deletes them.
    #[arg(long, env = "CHALK_AUDIT_RETENTION_DAYS", default_value_t = crate::domain::policy::DEFAULT_AUDIT_RETENTION_DAYS, value_parser = clap::value_parser!(i64).range(1..=36_500))]
    pub audit_retention_days: i64,

    /// Failed authentications per minute from one client address before its requests are
    /// refused with 429 until the minute ends.
    #[arg(long, env = "CHALK_AUTH_FAILURE_LIMIT", default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
    pub auth_failure_limit: i64,

    /// Comma-separated CIDRs of the reverse proxies whose `X-Forwarded-For` names the
    /// client (see docs/api.md Credentials). Unset: the client is always the TCP peer.
    #[arg(long, env = "CHALK_TRUSTED_PROXIES", value_parser = crate::net::client_ip::TrustedProxies::parse)]
    pub trusted_proxies: Option<crate::net::client_ip::TrustedProxies>,

    /// At most this many open connections; further ones wait to be accepted.
    #[arg(long, env = "CHALK_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// On SIGTERM, how long in-flight requests may take before the process exits anyway
    /// (`30s`, `500ms`, `2m`; a bare number is seconds).
    #[arg(long, env = "CHALK_SHUTDOWN_GRACE", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// A request's headers must arrive within this time of its first byte (or of the
    /// connection's opening).
    #[arg(long, env = "CHALK_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,

    /// A request's body must arrive within this time of its headers.
    #[arg(long, env = "CHALK_BODY_READ_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub body_read_timeout: Duration,

    /// A keep-alive connection with no request in progress is closed after this time.
    #[arg(long, env = "CHALK_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// Write a sealed backup of the embedded store into this directory every
    /// CHALK_BACKUP_INTERVAL (unset: no scheduled backups). SQLite only.
    #[arg(long, env = "CHALK_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,

    /// Time between scheduled backups (`24h`, `30m`; at least 1s).
    #[arg(long, env = "CHALK_BACKUP_INTERVAL", default_value = "24h", value_parser = parse_backup_interval)]
    pub backup_interval: Duration,

    /// Scheduled backups kept in CHALK_BACKUP_DIR: the newest ones; older ones are deleted.
    #[arg(long, env = "CHALK_BACKUP_KEEP", default_value_t = 7, value_parser = parse_backup_keep)]
    pub backup_keep: u32,
}

/// A backup interval: a duration of at least one second (a backup per millisecond would
/// do nothing but back up).
fn parse_backup_interval(text: &str) -> Result<Duration, String> {
    let interval = parse_duration(text).map_err(|e| format!("CHALK_BACKUP_INTERVAL: {e}"))?;
    if interval < Duration::from_secs(1) {
        return Err("CHALK_BACKUP_INTERVAL must be at least 1s".into());
    }
    Ok(interval)
}

fn parse_backup_keep(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(keep @ 1..=10_000) => Ok(keep),
        _ => Err(format!(
            "CHALK_BACKUP_KEEP must be a number of backups from 1 to 10000, not {text:?}"
        )),
    }
}

/// What `chalk-server` does instead of serving.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Copy a whole deployment (tenants, keys, config, refresh tokens, idempotency records,
    /// rooms, participants) into an empty database: SQLite to PostgreSQL, or back. Stop the
    /// servers on the source first. Secrets are copied as stored: the new deployment needs
    /// the same CHALK_ENCRYPTION_KEY.
    MigrateStore(MigrateStore),
    /// Write a consistent, sealed backup of the embedded SQLite store (`--to FILE`) while
    /// the server runs, or check one (`--verify FILE`). Uses the server's settings
    /// (CHALK_DATA_DIR or CHALK_DATABASE_URL, CHALK_ENCRYPTION_KEY). Exit codes: 0 done,
    /// 1 refused or damaged, 2 usage or an unsupported store (PostgreSQL: use pg_dump).
    Backup(BackupCommand),
    /// Restore a backup into an empty or absent data directory. Needs the
    /// CHALK_ENCRYPTION_KEY the backup was sealed with. Exit codes as for `backup`.
    Restore(RestoreCommand),
}

#[derive(Debug, Clone, Args)]
pub struct BackupCommand {
    /// Write the backup to FILE (through a temporary name in its directory).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "verify",
        conflicts_with = "verify"
    )]
    pub to: Option<PathBuf>,

    /// Check FILE's seal, checksum and database integrity, and print its manifest.
    #[arg(long, value_name = "FILE")]
    pub verify: Option<PathBuf>,

    /// `text` for people, `json` for scripts.
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreCommand {
    /// The backup file.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,

    /// The data directory to restore into: empty or absent.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,

    /// `text` for people, `json` for scripts.
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct MigrateStore {
    /// The database to copy from: `sqlite://PATH` or `postgres://…`.
    #[arg(long, value_name = "URL")]
    pub from: String,

    /// The database to copy into (migrated first; must hold no rows).
    #[arg(long, value_name = "URL")]
    pub to: String,
}

/// Operator-set master keys shorter than this are refused: generated ones are longer, and
/// a short key can be guessed.
pub const MIN_MASTER_KEY_CHARS: usize = 32;

impl Settings {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("chalk.db").display()))
    }
}

/// Secrets the server runs with, resolved from settings or the data directory.
#[derive(Debug, Clone)]
pub struct Secrets {
    pub master_key: SecretString,
    /// Only in HS256 mode.
    pub jwt_secret: Option<SecretString>,
    pub encryption_key: SecretString,
    /// Set when the master key was generated by this start: print it once.
    pub generated_master_key: bool,
}

impl Secrets {
    /// Uses each secret given in `settings`; otherwise reads it from the data directory,
    /// generating it there (mode 0600) on first start.
    ///
    /// A PostgreSQL deployment is shared by instances on several machines, so secrets
    /// generated into one machine's data directory would differ between instances: there,
    /// the master and encryption keys must be given, and the JWT secret in HS256 mode
    /// (EdDSA keys live in the store, sealed with the encryption key).
    pub fn resolve(settings: &Settings) -> Result<Self, String> {
        let hs256 = settings.jwt_algorithm == crate::domain::signing::JwtAlgorithm::Hs256;
        if crate::store::Dialect::of_url(&settings.database_url())
            == Ok(crate::store::Dialect::Postgres)
        {
            let missing: Vec<&str> = [
                ("CHALK_MASTER_KEY", settings.master_key.is_none()),
                ("CHALK_JWT_SECRET", hs256 && settings.jwt_secret.is_none()),
                ("CHALK_ENCRYPTION_KEY", settings.encryption_key.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, missing)| missing.then_some(name))
            .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "a PostgreSQL deployment is shared by every instance, so its secrets must be set \
                     explicitly (the same on each instance), not generated per machine; missing: {}",
                    missing.join(", ")
                ));
            }
        }
        let dir = &settings.data_dir;
        let (master_key, generated_master_key) = match &settings.master_key {
            Some(key) if key.expose().trim().is_empty() => {
                return Err("CHALK_MASTER_KEY is set but empty".into());
            }
            Some(key) if key.expose().chars().count() < MIN_MASTER_KEY_CHARS => {
                return Err(format!(
                    "CHALK_MASTER_KEY is too short ({} characters): an operator-set master key \
                     must be at least {MIN_MASTER_KEY_CHARS} characters (e.g. `openssl rand -base64 33`), \
                     or leave it unset to have one generated",
                    key.expose().chars().count()
                ));
            }
            Some(key) => (key.clone(), false),
            None => load_or_generate(dir, "master.key", || {
                format!("mk_{}", crate::crypto::random_base62(40))
            })?,
        };
        let jwt_secret = match &settings.jwt_secret {
            Some(secret) if secret.expose().len() < 32 => {
                return Err("CHALK_JWT_SECRET must be at least 32 characters".into());
            }
            _ if !hs256 => None,
            Some(secret) => Some(secret.clone()),
            None => {
                Some(load_or_generate(dir, "jwt.secret", || crate::crypto::random_base62(64))?.0)
            }
        };
        let (encryption_key, _) = match &settings.encryption_key {
            Some(key) => (key.clone(), false),
            None => load_or_generate(
                dir,
                "encryption.key",
                crate::crypto::Sealer::generate_key_base64,
            )?,
        };
        Ok(Self {
            master_key,
            jwt_secret,
            encryption_key,
            generated_master_key,
        })
    }
}

fn load_or_generate(
    dir: &Path,
    file: &str,
    generate: impl FnOnce() -> String,
) -> Result<(SecretString, bool), String> {
    let path = dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok((SecretString::new(text.trim()), false)),
        Ok(_) => {
            return Err(format!(
                "{} is empty; delete it or set the secret",
                path.display()
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))?;
    let value = generate();
    write_private(&path, &value).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((SecretString::new(value), true))
}

/// Creates `path` readable by its owner only, failing if it already exists (two servers
/// starting at once must not overwrite each other's secret).
fn write_private(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(value.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path) -> Settings {
        Settings::parse_from(["chalk-server", "--data-dir", dir.to_str().unwrap()])
    }

    fn hs256_settings(dir: &Path) -> Settings {
        Settings::parse_from([
            "chalk-server",
            "--data-dir",
            dir.to_str().unwrap(),
            "--jwt-algorithm",
            "HS256",
        ])
    }

    #[test]
    fn eddsa_is_the_default_and_needs_no_jwt_secret() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path());
        assert_eq!(s.jwt_algorithm, crate::domain::signing::JwtAlgorithm::EdDsa);
        let secrets = Secrets::resolve(&s).unwrap();
        assert!(secrets.jwt_secret.is_none());
        assert!(!dir.path().join("jwt.secret").exists());

        // PostgreSQL: the master and encryption keys are required, the JWT secret only
        // in HS256 mode.
        let mut pg = settings(dir.path());
        pg.database_url = Some("postgres://db/chalk".into());
        pg.master_key = Some(SecretString::new("m".repeat(32)));
        pg.encryption_key = Some(SecretString::new(
            crate::crypto::Sealer::generate_key_base64(),
        ));
        Secrets::resolve(&pg).unwrap();
        pg.jwt_algorithm = crate::domain::signing::JwtAlgorithm::Hs256;
        let error = Secrets::resolve(&pg).unwrap_err();
        assert!(error.contains("missing: CHALK_JWT_SECRET"), "{error}");
        pg.encryption_key = None;
        pg.jwt_algorithm = crate::domain::signing::JwtAlgorithm::EdDsa;
        let error = Secrets::resolve(&pg).unwrap_err();
        assert!(error.contains("missing: CHALK_ENCRYPTION_KEY"), "{error}");
        assert!(!error.contains("CHALK_JWT_SECRET"), "{error}");
        let parsed = Settings::parse_from(["chalk-server", "--jwt-algorithm", "hs256"]);
        assert_eq!(
            parsed.jwt_algorithm,
            crate::domain::signing::JwtAlgorithm::Hs256
        );
    }

    #[test]
    fn generates_secrets_once_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let first = Secrets::resolve(&hs256_settings(dir.path())).unwrap();
        assert!(first.generated_master_key);
        let second = Secrets::resolve(&hs256_settings(dir.path())).unwrap();
        assert!(!second.generated_master_key);
        assert_eq!(first.master_key, second.master_key);
        assert!(first.jwt_secret.is_some());
        assert_eq!(first.jwt_secret, second.jwt_secret);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for file in ["master.key", "jwt.secret", "encryption.key"] {
                let mode = std::fs::metadata(dir.path().join(file))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{file}");
            }
        }
        crate::crypto::Sealer::from_base64(first.encryption_key.expose()).unwrap();
    }

    #[test]
    fn explicit_secrets_win_and_debug_hides_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path());
        let key = "operator-key-0123456789abcdefghijklmnop";
        s.master_key = Some(SecretString::new(key));
        let secrets = Secrets::resolve(&s).unwrap();
        assert_eq!(secrets.master_key.expose(), key);
        assert!(!secrets.generated_master_key);
        assert!(!format!("{secrets:?}").contains(key));
        assert!(!format!("{s:?}").contains(key));
    }

    #[test]
    fn short_master_key_is_refused_without_echoing_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path());
        s.master_key = Some(SecretString::new("x".repeat(31)));
        let error = Secrets::resolve(&s).unwrap_err();
        assert!(error.contains("CHALK_MASTER_KEY is too short"), "{error}");
        assert!(error.contains("at least 32"), "{error}");
        assert!(!error.contains(&"x".repeat(31)), "the key is never printed");
        s.master_key = Some(SecretString::new("x".repeat(32)));
        Secrets::resolve(&s).unwrap();
    }

    #[test]
    fn durations_parse_with_units_and_refuse_zero() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3d").is_err());
        let s = Settings::parse_from(["chalk-server"]);
        assert_eq!(s.shutdown_grace, Duration::from_secs(30));
        assert_eq!(s.header_read_timeout, Duration::from_secs(10));
        assert_eq!(s.body_read_timeout, Duration::from_secs(30));
        assert_eq!(s.idle_timeout, Duration::from_secs(60));
        assert_eq!(s.max_connections, 10_000);
        assert_eq!(s.participant_rate_limit, 120);
        assert_eq!(s.registration_rate_limit, 10);
        let s = Settings::parse_from(["chalk-server", "--registration-rate-limit", "3"]);
        assert_eq!(s.registration_rate_limit, 3);
        let s = Settings::parse_from(["chalk-server", "--shutdown-grace", "2s"]);
        assert_eq!(s.shutdown_grace, Duration::from_secs(2));
        assert!(s.command.is_none());
    }

    #[test]
    fn trusted_proxies_parse_from_the_flag_and_refuse_a_bad_cidr() {
        let s = Settings::parse_from(["chalk-server"]);
        assert_eq!(s.trusted_proxies, None);
        let s = Settings::parse_from(["chalk-server", "--trusted-proxies", "10.0.0.0/8,::1"]);
        let trusted = s.trusted_proxies.unwrap();
        assert!(trusted.contains("10.2.3.4".parse().unwrap()));
        assert!(trusted.contains("::1".parse().unwrap()));
        let error = Settings::try_parse_from(["chalk-server", "--trusted-proxies", "10.0.0.0/40"])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("CHALK_TRUSTED_PROXIES") && error.contains("10.0.0.0/40"),
            "{error}"
        );
    }

    #[test]
    fn migrate_store_is_a_command_beside_the_server_flags() {
        let s = Settings::parse_from([
            "chalk-server",
            "migrate-store",
            "--from",
            "sqlite://a.db",
            "--to",
            "postgres://db/chalk",
        ]);
        match s.command {
            Some(Command::MigrateStore(m)) => {
                assert_eq!(m.from, "sqlite://a.db");
                assert_eq!(m.to, "postgres://db/chalk");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            Settings::try_parse_from(["chalk-server", "migrate-store", "--from", "sqlite://a.db"])
                .is_err(),
            "--to is required"
        );
        let s = Settings::parse_from(["chalk-server", "--listen", ":0"]);
        assert_eq!(s.listen, ":0");
        assert!(s.command.is_none());
    }

    #[test]
    fn backup_commands_and_settings_parse_and_refuse_bad_values() {
        let s = Settings::parse_from(["chalk-server", "backup", "--to", "b.backup"]);
        match s.command {
            Some(Command::Backup(b)) => {
                assert_eq!(b.to, Some(PathBuf::from("b.backup")));
                assert_eq!(b.output, OutputFormat::Text);
            }
            other => panic!("{other:?}"),
        }
        let s = Settings::parse_from(["chalk-server", "backup", "--verify", "b", "-o", "json"]);
        assert!(
            matches!(s.command, Some(Command::Backup(ref b)) if b.output == OutputFormat::Json && b.verify.is_some())
        );
        assert!(Settings::try_parse_from(["chalk-server", "backup"]).is_err());
        assert!(
            Settings::try_parse_from(["chalk-server", "backup", "--to", "a", "--verify", "b"])
                .is_err()
        );
        let s = Settings::parse_from(["chalk-server", "restore", "--from", "b", "--data-dir", "d"]);
        assert!(matches!(s.command, Some(Command::Restore(ref r)) if r.data_dir == Path::new("d")));
        assert!(Settings::try_parse_from(["chalk-server", "restore", "--from", "b"]).is_err());

        let s = Settings::parse_from(["chalk-server"]);
        assert_eq!(s.backup_dir, None);
        assert_eq!(s.backup_interval, Duration::from_secs(24 * 3600));
        assert_eq!(s.backup_keep, 7);
        for bad in [
            ["--backup-interval", "500ms"],
            ["--backup-interval", "soon"],
            ["--backup-keep", "0"],
        ] {
            let error = Settings::try_parse_from(["chalk-server", bad[0], bad[1]])
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(bad[0]) && error.contains("CHALK_BACKUP_"),
                "{error}"
            );
        }
    }

    #[test]
    fn short_jwt_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path());
        s.jwt_secret = Some(SecretString::new("short"));
        assert!(
            Secrets::resolve(&s)
                .unwrap_err()
                .contains("CHALK_JWT_SECRET")
        );
    }
}
