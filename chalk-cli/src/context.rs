//! Global flags and what every command needs from them: the output format, whether
//! prompting is allowed, the credential (flag > environment > stored profile) and a client.

use std::io::{self, IsTerminal, Read};
use std::path::PathBuf;
use std::time::Duration;

use chalk_sdk::{Client, DEFAULT_BASE_URL, RetryPolicy};

use crate::error::{CliError, CliResult};
use crate::output::Format;
use crate::store::{self, CredentialKind, Profiles, SecretStore};

#[derive(Debug, Clone, clap::Args)]
pub struct Globals {
    /// Server URL [env: CHALK_API_URL] [default: the profile's, else http://127.0.0.1:8080]
    #[arg(long, global = true, value_name = "URL")]
    pub api_url: Option<String>,

    /// Stored profile to use [env: CHALK_PROFILE] [default: the current profile]
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Tenant API key [env: CHALK_API_KEY]. Visible in `ps`: prefer the environment
    #[arg(long, global = true, value_name = "KEY", conflicts_with = "master_key")]
    pub api_key: Option<String>,

    /// Operator master key [env: CHALK_MASTER_KEY]. Visible in `ps`: prefer the environment
    #[arg(long, global = true, value_name = "KEY")]
    pub master_key: Option<String>,

    /// Output format [env: CHALK_OUTPUT] [default: table on a terminal, json otherwise]
    #[arg(short, long, global = true, value_enum)]
    pub output: Option<Format>,

    /// Never prompt; fail instead when a value or a confirmation is missing [env: CHALK_NO_INPUT]
    #[arg(long, global = true)]
    pub no_input: bool,

    /// Retries of safe requests on 429, 5xx and connection failures [env: CHALK_RETRIES] [default: 3]
    #[arg(long, global = true, value_name = "N")]
    pub retries: Option<u32>,

    /// Seconds one request attempt may take [env: CHALK_TIMEOUT] [default: 30]
    #[arg(long, global = true, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

/// Where the credential in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Environment,
    Profile(String),
    None,
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Flag => "command-line flag".into(),
            Source::Environment => "environment".into(),
            Source::Profile(name) => format!("profile `{name}`"),
            Source::None => "none".into(),
        }
    }
}

pub struct Credential {
    pub kind: Option<CredentialKind>,
    pub secret: Option<String>,
    pub source: Source,
}

pub struct Context {
    pub globals: Globals,
    pub format: Format,
    /// Prompts are allowed: stdin and stderr are terminals and `--no-input` is not set.
    pub interactive: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_flag(name: &str) -> CliResult<bool> {
    match env(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("0" | "false" | "no" | "off") => Ok(false),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some(other) => Err(CliError::usage(format!(
            "{name}=`{other}`: expected true or false"
        ))),
    }
}

fn env_number<T: std::str::FromStr>(name: &str) -> CliResult<Option<T>> {
    env(name)
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| CliError::usage(format!("{name}=`{v}`: expected a whole number")))
        })
        .transpose()
}

impl Context {
    pub fn new(mut globals: Globals) -> CliResult<Context> {
        if globals.api_url.is_none() {
            globals.api_url = env("CHALK_API_URL");
        }
        if globals.profile.is_none() {
            globals.profile = env("CHALK_PROFILE");
        }
        if globals.output.is_none() {
            globals.output = match env("CHALK_OUTPUT").as_deref() {
                None => None,
                Some("json") => Some(Format::Json),
                Some("table") => Some(Format::Table),
                Some(other) => {
                    return Err(CliError::usage(format!(
                        "CHALK_OUTPUT=`{other}`: expected table or json"
                    )));
                }
            };
        }
        globals.no_input |= env_flag("CHALK_NO_INPUT")?;
        if globals.retries.is_none() {
            globals.retries = env_number("CHALK_RETRIES")?;
        }
        if globals.timeout.is_none() {
            globals.timeout = env_number("CHALK_TIMEOUT")?;
        }
        let interactive =
            !globals.no_input && io::stdin().is_terminal() && io::stderr().is_terminal();
        Ok(Context {
            format: Format::resolve(globals.output),
            globals,
            interactive,
        })
    }

    pub fn config_dir(&self) -> CliResult<PathBuf> {
        store::config_dir()
    }

    pub fn profiles(&self) -> CliResult<Profiles> {
        Profiles::load(&self.config_dir()?)
    }

    /// The profile commands act on: `--profile`, `CHALK_PROFILE`, the current one, `default`.
    pub fn profile_name(&self, profiles: &Profiles) -> String {
        profiles.active_name(self.globals.profile.as_deref())
    }

    /// The credential to use: flag, else environment, else the stored profile.
    pub fn credential(&self) -> CliResult<Credential> {
        let pick = |api: Option<String>, master: Option<String>, source: Source, what: &str| match (
            api, master,
        ) {
            (Some(_), Some(_)) => Err(CliError::usage(format!(
                "both an API key and a master key are set {what}; set exactly one"
            ))),
            (Some(key), None) => Ok(Some(Credential {
                kind: Some(CredentialKind::ApiKey),
                secret: Some(key),
                source,
            })),
            (None, Some(key)) => Ok(Some(Credential {
                kind: Some(CredentialKind::MasterKey),
                secret: Some(key),
                source,
            })),
            (None, None) => Ok(None),
        };
        let flags = pick(
            self.globals.api_key.clone(),
            self.globals.master_key.clone(),
            Source::Flag,
            "as flags",
        )?;
        if let Some(credential) = flags {
            return Ok(credential);
        }
        let environment = pick(
            env("CHALK_API_KEY"),
            env("CHALK_MASTER_KEY"),
            Source::Environment,
            "in the environment (CHALK_API_KEY, CHALK_MASTER_KEY)",
        )?;
        if let Some(credential) = environment {
            return Ok(credential);
        }
        let dir = self.config_dir()?;
        let profiles = Profiles::load(&dir)?;
        let name = self.profile_name(&profiles);
        match profiles.profiles.get(&name) {
            Some(profile) => {
                let secret = SecretStore::of(profile.store, &dir).get(&name)?;
                if secret.is_none() {
                    return Err(CliError::other(format!(
                        "profile `{name}` has no stored credential; run `chalk login --profile {name}`"
                    )));
                }
                Ok(Credential {
                    kind: Some(profile.credential),
                    secret,
                    source: Source::Profile(name),
                })
            }
            None if self.globals.profile.is_some() => Err(CliError::NotFound(format!(
                "no profile `{name}`; run `chalk login --profile {name}` or see `chalk profiles list`"
            ))),
            None => Ok(Credential {
                kind: None,
                secret: None,
                source: Source::None,
            }),
        }
    }

    /// The server URL: flag or environment, else the profile's, else the default.
    pub fn api_url(&self) -> CliResult<String> {
        if let Some(url) = &self.globals.api_url {
            return Ok(url.clone());
        }
        let profiles = self.profiles()?;
        let name = self.profile_name(&profiles);
        Ok(profiles
            .profiles
            .get(&name)
            .map(|p| p.api_url.clone())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()))
    }

    /// The server URL when one is configured (flag, environment or the profile), not the
    /// default: for checks that are only worth making against a server the user chose.
    pub fn configured_api_url(&self) -> CliResult<Option<String>> {
        if let Some(url) = &self.globals.api_url {
            return Ok(Some(url.clone()));
        }
        let profiles = self.profiles()?;
        let name = self.profile_name(&profiles);
        Ok(profiles.profiles.get(&name).map(|p| p.api_url.clone()))
    }

    /// A client with the resolved URL and credential.
    pub fn client(&self) -> CliResult<Client> {
        let credential = self.credential()?;
        self.client_with(credential.kind, credential.secret.as_deref())
    }

    /// A client with the resolved URL and the given credential.
    pub fn client_with(
        &self,
        kind: Option<CredentialKind>,
        secret: Option<&str>,
    ) -> CliResult<Client> {
        let mut builder = Client::builder()
            .base_url(self.api_url()?)
            .user_agent(concat!("chalk-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(retries) = self.globals.retries {
            builder = builder.retry_policy(RetryPolicy {
                max_retries: retries,
                ..RetryPolicy::default()
            });
        }
        if let Some(seconds) = self.globals.timeout {
            builder = builder.timeout(Duration::from_secs(seconds.max(1)));
        }
        builder = match (kind, secret) {
            (Some(CredentialKind::ApiKey), Some(key)) => builder.api_key(key),
            (Some(CredentialKind::MasterKey), Some(key)) => builder.master_key(key),
            _ => builder,
        };
        Ok(builder.build()?)
    }

    /// Asks before a destructive action: `--yes` skips the question; without a terminal
    /// (or with `--no-input`) the action is refused rather than waiting for an answer.
    pub fn confirm(&self, yes: bool, question: &str) -> CliResult<()> {
        if yes {
            return Ok(());
        }
        if !self.interactive {
            return Err(CliError::usage(format!(
                "{question} Refusing without confirmation: pass --yes (no terminal to ask on, or --no-input is set)"
            )));
        }
        let confirmed = dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact()
            .map_err(prompt_error)?;
        if confirmed {
            Ok(())
        } else {
            Err(CliError::other("aborted; nothing was changed"))
        }
    }

    /// A required value: as given, else asked for on a terminal, else a usage error.
    pub fn require(&self, value: Option<String>, what: &str, how: &str) -> CliResult<String> {
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            return Ok(value);
        }
        if !self.interactive {
            return Err(CliError::usage(format!("missing {what}: {how}")));
        }
        let answer: String = dialoguer::Input::new()
            .with_prompt(capitalise(what))
            .interact_text()
            .map_err(prompt_error)?;
        let answer = answer.trim().to_owned();
        if answer.is_empty() {
            return Err(CliError::usage(format!("missing {what}: {how}")));
        }
        Ok(answer)
    }

    /// A secret: as given (`-` reads stdin), else read from stdin when it is not a terminal
    /// and `--no-input` is not set, else asked for
    /// with a hidden prompt, else a usage error.
    pub fn secret(&self, value: Option<String>, what: &str, how: &str) -> CliResult<String> {
        match value.as_deref() {
            Some("-") => return read_stdin_secret(what),
            Some(v) if !v.trim().is_empty() => return Ok(v.trim().to_owned()),
            _ => {}
        }
        // Implicit stdin only without --no-input: a CI step whose stdin is an open pipe
        // that never closes must not hang; `-` still reads it explicitly.
        if !io::stdin().is_terminal() && !self.globals.no_input {
            return read_stdin_secret(what);
        }
        if !self.interactive {
            return Err(CliError::usage(format!("missing {what}: {how}")));
        }
        let answer = dialoguer::Password::new()
            .with_prompt(capitalise(what))
            .interact()
            .map_err(prompt_error)?;
        let answer = answer.trim().to_owned();
        if answer.is_empty() {
            return Err(CliError::usage(format!("missing {what}: {how}")));
        }
        Ok(answer)
    }
}

/// The first line of stdin, trimmed; an error when it is empty.
pub fn read_stdin_secret(what: &str) -> CliResult<String> {
    let mut text = String::new();
    io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .map_err(|e| CliError::other(format!("could not read {what} from stdin: {e}")))?;
    let line = text.lines().next().unwrap_or("").trim().to_owned();
    if line.is_empty() {
        return Err(CliError::usage(format!("no {what} on stdin")));
    }
    Ok(line)
}

fn prompt_error(e: dialoguer::Error) -> CliError {
    CliError::other(format!("could not prompt on the terminal: {e}"))
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
