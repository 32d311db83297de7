//! `chalk login`, `logout`, `whoami` and `profiles list|use`: stored credentials.

use chalk_sdk::model::ListTenantsQuery;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::context::{Context, Source, read_stdin_secret};
use crate::error::{CliError, CliResult};
use crate::output::{Block, View, flatten};
use crate::store::{self, CredentialKind, Profile, Profiles, SecretStore};

#[derive(Debug, Args)]
#[command(
    after_help = "The key is checked against the server, then kept in the OS keyring; where there
is none (headless Linux, CI) it goes to credentials.json (mode 0600) in the config
directory ($CHALK_CONFIG_DIR, else ~/.config/chalk), and the command says so.
CHALK_CREDENTIAL_STORE=keyring|file|auto chooses explicitly.

Examples:
  chalk login                                   # asks for a tenant API key
  chalk login --master --profile ops --api-url https://chalk.example.com
  printf '%s' \"$OPERATOR_KEY\" | chalk login --master --api-key-stdin   # an ok_live_ operator key
  printf '%s' \"$KEY\" | chalk login --api-key-stdin --profile ci"
)]
pub struct LoginArgs {
    /// The key is the operator's: the master key or an operator key, ok_live_… (default: a
    /// tenant API key)
    #[arg(long)]
    master: bool,
    /// Read the key from stdin instead of prompting
    #[arg(long)]
    api_key_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProfilesCmd {
    /// List stored profiles
    #[command(after_help = "Example:\n  chalk profiles list")]
    List,
    /// Make a profile the current one
    #[command(after_help = "Example:\n  chalk profiles use staging")]
    Use { name: Option<String> },
}

pub async fn login(ctx: &Context, args: LoginArgs) -> CliResult<View> {
    let dir = ctx.config_dir()?;
    let name = ctx.profile_name(&Profiles::load(&dir)?);
    let kind = if args.master {
        CredentialKind::MasterKey
    } else {
        CredentialKind::ApiKey
    };
    let flag = match kind {
        CredentialKind::MasterKey => ctx.globals.master_key.clone(),
        CredentialKind::ApiKey => ctx.globals.api_key.clone(),
    };
    let secret = if args.api_key_stdin {
        read_stdin_secret("key")?
    } else if let Some(secret) = flag {
        secret
    } else if ctx.interactive {
        let what = match kind {
            CredentialKind::MasterKey => "Master key or operator key",
            CredentialKind::ApiKey => "API key",
        };
        dialoguer::Password::new()
            .with_prompt(what)
            .interact()
            .map_err(|e| CliError::other(format!("could not prompt on the terminal: {e}")))?
            .trim()
            .to_owned()
    } else {
        return Err(CliError::usage(
            "no key to log in with and no terminal to ask on: pipe it in with --api-key-stdin",
        ));
    };
    if secret.is_empty() {
        return Err(CliError::usage("the key is empty"));
    }

    // Check the key before keeping it.
    let api_url = ctx.api_url()?;
    let client = ctx.client_with(Some(kind), Some(&secret))?;
    let tenant_id = match kind {
        CredentialKind::ApiKey => Some(client.tenants().current().await?.id),
        CredentialKind::MasterKey => {
            let query = ListTenantsQuery {
                limit: Some(1),
                ..Default::default()
            };
            client.tenants().list(&query).await?;
            None
        }
    };

    // From here on, only local work: under the lock, on the profiles as they are now
    // (another login may have saved since they were read above).
    let lock = store::lock(&dir)?;
    let mut profiles = Profiles::load(&dir)?;
    let preference = std::env::var("CHALK_CREDENTIAL_STORE").ok();
    let (mut secrets, mut notice) = store::choose(&dir, preference.as_deref())?;
    if let Err(e) = secrets.set(&lock, &name, &secret) {
        if secrets != SecretStore::Keyring || preference.as_deref() == Some("keyring") {
            return Err(e);
        }
        // A keyring that exists but refuses (locked, no collection): keep working.
        let file = SecretStore::of(store::StoreKind::File, &dir);
        notice = Some(format!(
            "the OS keyring refused the credential ({}); storing it in {} instead",
            e.message(),
            file.describe()
        ));
        file.set(&lock, &name, &secret)?;
        secrets = file;
    }
    if let Some(notice) = notice {
        eprintln!("{} {notice}", crate::style::paint_stderr("33", "note:"));
    }
    if let Some(old) = profiles.profiles.get(&name)
        && old.store != secrets.kind()
    {
        SecretStore::of(old.store, &dir).delete(&lock, &name)?;
    }
    profiles.profiles.insert(
        name.clone(),
        Profile {
            api_url: api_url.clone(),
            credential: kind,
            store: secrets.kind(),
            tenant_id: tenant_id.clone(),
        },
    );
    if profiles.current.is_none() {
        profiles.current = Some(name.clone());
    }
    let current = profiles.current.as_deref() == Some(name.as_str());
    profiles.save(&dir, &lock)?;
    drop(lock);

    let json = json!({
        "profile": name,
        "api_url": api_url,
        "credential": kind,
        "store": secrets.kind(),
        "tenant_id": tenant_id,
        "current": current,
    });
    let mut blocks = vec![Block::Line(format!(
        "Logged in as {} ({}) on {api_url}; credential kept in {}.",
        tenant_id.as_deref().unwrap_or("the operator"),
        kind.as_str(),
        secrets.describe()
    ))];
    if !current {
        blocks.push(Block::Line(format!(
            "Use it with --profile {name}, or make it the default with `chalk profiles use {name}`."
        )));
    }
    View::new(json, blocks)
}

pub fn logout(ctx: &Context) -> CliResult<View> {
    let dir = ctx.config_dir()?;
    let lock = store::lock(&dir)?;
    let mut profiles = Profiles::load(&dir)?;
    let name = ctx.profile_name(&profiles);
    let Some(profile) = profiles.profiles.remove(&name) else {
        return Err(CliError::NotFound(format!(
            "no profile `{name}` to log out of; see `chalk profiles list`"
        )));
    };
    SecretStore::of(profile.store, &dir).delete(&lock, &name)?;
    if profiles.current.as_deref() == Some(name.as_str()) {
        profiles.current = None;
    }
    profiles.save(&dir, &lock)?;
    drop(lock);
    View::new(
        json!({"profile": name, "logged_out": true}),
        vec![Block::Line(format!(
            "Logged out of `{name}`; its stored credential is deleted."
        ))],
    )
}

pub async fn whoami(ctx: &Context) -> CliResult<View> {
    let credential = ctx.credential()?;
    let Some(kind) = credential.kind else {
        return Err(CliError::Unauthenticated(
            "no credential: run `chalk login`, or set CHALK_MASTER_KEY or CHALK_API_KEY".into(),
        ));
    };
    let api_url = ctx.api_url()?;
    let client = ctx.client_with(Some(kind), credential.secret.as_deref())?;
    let tenant = match kind {
        CredentialKind::ApiKey => {
            let tenant = client.tenants().current().await?;
            Some(json!({"id": tenant.id, "name": tenant.name, "status": tenant.status}))
        }
        CredentialKind::MasterKey => {
            let query = ListTenantsQuery {
                limit: Some(1),
                ..Default::default()
            };
            client.tenants().list(&query).await?;
            None
        }
    };
    let profile = match &credential.source {
        Source::Profile(name) => Some(name.clone()),
        _ => None,
    };
    let json = json!({
        "api_url": api_url,
        "credential": kind,
        "source": credential.source.describe(),
        "profile": profile,
        "tenant": tenant,
    });
    let mut view = View::new(json, Vec::new())?;
    view.blocks.push(Block::Fields(flatten(&view.json)));
    Ok(view)
}

pub fn profiles(ctx: &Context, cmd: ProfilesCmd) -> CliResult<View> {
    let dir = ctx.config_dir()?;
    match cmd {
        ProfilesCmd::List => {
            let profiles = Profiles::load(&dir)?;
            let items: Vec<_> = profiles
                .profiles
                .iter()
                .map(|(name, p)| {
                    json!({
                        "name": name,
                        "current": profiles.current.as_deref() == Some(name.as_str()),
                        "api_url": p.api_url,
                        "credential": p.credential,
                        "store": p.store,
                        "tenant_id": p.tenant_id,
                    })
                })
                .collect();
            let rows = profiles
                .profiles
                .iter()
                .map(|(name, p)| {
                    let current = profiles.current.as_deref() == Some(name.as_str());
                    vec![
                        if current { "*".into() } else { String::new() },
                        name.clone(),
                        p.api_url.clone(),
                        p.credential.as_str().to_owned(),
                        match p.store {
                            store::StoreKind::Keyring => "keyring".into(),
                            store::StoreKind::File => "file".into(),
                        },
                        p.tenant_id.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            View::new(
                items,
                vec![Block::Grid(
                    vec!["", "name", "api url", "credential", "store", "tenant"],
                    rows,
                )],
            )
        }
        ProfilesCmd::Use { name } => {
            let name = ctx.require(name, "profile name", "pass the profile name as an argument")?;
            let lock = store::lock(&dir)?;
            let mut profiles = Profiles::load(&dir)?;
            if !profiles.profiles.contains_key(&name) {
                return Err(CliError::NotFound(format!(
                    "no profile `{name}`; run `chalk login --profile {name}` first"
                )));
            }
            profiles.current = Some(name.clone());
            profiles.save(&dir, &lock)?;
            drop(lock);
            View::new(
                json!({"current": name}),
                vec![Block::Line(format!("Now using profile `{name}`."))],
            )
        }
    }
}
