//! `chalk`: the admin CLI of the Chalk tenant API, built only on `chalk-sdk`.
//!
//! One module per noun under `commands`, each a clap enum and a `run` that returns a
//! [`output::View`]; one renderer prints it; one exit path ([`fail`]) prints errors and
//! maps them to the documented exit codes.

mod commands;
mod context;
mod error;
mod output;
mod store;
mod style;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use serde_json::json;

use crate::commands::{
    audit, config, events, keys, operator_keys, profiles, provision, rooms, signing_keys, tenants,
    token, usage, webhooks,
};
use crate::context::{Context, Globals};
use crate::error::{CliError, CliResult};
use crate::output::{Format, View};

const AFTER_HELP: &str = "Credentials: a flag (--api-key, --master-key) wins over the environment
(CHALK_API_KEY, CHALK_MASTER_KEY), which wins over the stored profile (`chalk login`).
Flags are visible in `ps`: in scripts prefer the environment.

Output: -o table on a terminal, -o json otherwise (the resource's JSON, stable for scripts).
Errors go to stderr (as JSON when -o json is given). NO_COLOR disables colour.

Exit codes: 0 ok; 1 other failure; 2 usage; 3 authentication (401); 4 permission (403);
5 not found (404); 6 conflict, quota or precondition (409, 412); 7 invalid input (400,
413, 415, 422); 8 rate limited (429); 9 server or network unavailable (5xx, connect, timeout);
10 `chalk plan` found changes to make (not an error).

Examples:
  chalk login --master --api-url https://chalk.example.com
  chalk tenants create \"Acme University\" --email ops@acme.edu
  chalk config set tenant_abc123 force_recording=true allowed_origins=https://app.acme.edu
  CHALK_MASTER_KEY=... chalk tenants list -o json | jq -r '.[].id'";

/// Administer Chalk tenants, their config, API keys, tokens and rooms.
#[derive(Debug, Parser)]
#[command(name = "chalk", version, after_help = AFTER_HELP, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a key against the server and store it for a profile
    Login(profiles::LoginArgs),
    /// Delete a profile and its stored credential
    #[command(after_help = "Examples:\n  chalk logout\n  chalk logout --profile ci")]
    Logout,
    /// Show which credential is used, from where, and who it is
    #[command(
        after_help = "Examples:\n  chalk whoami\n  CHALK_API_KEY=sk_live_... chalk whoami -o json"
    )]
    Whoami,
    /// Stored profiles
    #[command(subcommand)]
    Profiles(profiles::ProfilesCmd),
    /// Tenants: create, list, get, update, delete, rotate-key, suspend, resume
    #[command(subcommand)]
    Tenants(tenants::TenantsCmd),
    /// A tenant's config
    #[command(subcommand)]
    Config(config::ConfigCmd),
    /// A tenant's scoped API keys
    #[command(subcommand)]
    Keys(keys::KeysCmd),
    /// Access and refresh tokens
    #[command(subcommand)]
    Token(token::TokenCmd),
    /// A tenant's rooms: create, list, get, end
    #[command(subcommand)]
    Rooms(rooms::RoomsCmd),
    /// Participants of a room: add, token, remove
    #[command(subcommand)]
    Participants(rooms::ParticipantsCmd),
    /// The server's token signing keys: list, rotate (master key)
    #[command(subcommand)]
    SigningKeys(signing_keys::SigningKeysCmd),
    /// Webhooks: endpoints (create, list, get, update, delete, rotate-secret, test) and deliveries
    #[command(subcommand)]
    Webhooks(webhooks::WebhooksCmd),
    /// A tenant's events: list, or tail to follow them
    #[command(subcommand)]
    Events(events::EventsCmd),
    /// Operator keys: create, list, revoke (master or operator key)
    #[command(subcommand)]
    OperatorKeys(operator_keys::OperatorKeysCmd),
    /// The audit log: list, tail (master or operator key; a tenant's own with --tenant)
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Metered usage: a tenant's per hour, day or month; `export` for every tenant's
    Usage(usage::UsageArgs),
    /// What `apply` would change to make the server match provisioning files (exit 10 if anything)
    Plan(provision::PlanArgs),
    /// Make the server match provisioning files: exactly the planned changes
    Apply(provision::ApplyArgs),
    /// Write tenants as a provisioning file (secrets as references to fill in)
    Export(provision::ExportArgs),
    /// Print a shell completion script
    #[command(after_help = "Examples:
  chalk completions bash > ~/.local/share/bash-completion/completions/chalk
  chalk completions zsh > \"${fpath[1]}/_chalk\"
  chalk completions fish > ~/.config/fish/completions/chalk.fish
  chalk completions powershell >> $PROFILE")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and --version exit 0, usage errors 2, as clap decides.
        Err(e) => e.exit(),
    };
    let asked = cli.globals.output;
    let ctx = match Context::new(cli.globals) {
        Ok(ctx) => ctx,
        Err(e) => return fail(&e, asked == Some(Format::Json)),
    };
    // Errors are JSON only when JSON was asked for; otherwise text a person can read in a
    // terminal or a CI log, even when stdout (piped to jq) gets JSON.
    let json_errors = ctx.globals.output == Some(Format::Json);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return fail(
                &CliError::other(format!("could not start: {e}")),
                json_errors,
            );
        }
    };
    match runtime.block_on(dispatch(&ctx, cli.command)) {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(view)) => match output::render(&view, ctx.format) {
            Ok(()) => ExitCode::from(u8::try_from(view.exit_code).unwrap_or(1)),
            Err(e) => fail(&e, json_errors),
        },
        Err(e) => fail(&e, json_errors),
    }
}

async fn dispatch(ctx: &Context, command: Command) -> CliResult<Option<View>> {
    let view = match command {
        Command::Login(args) => profiles::login(ctx, args).await?,
        Command::Logout => profiles::logout(ctx)?,
        Command::Whoami => profiles::whoami(ctx).await?,
        Command::Profiles(cmd) => profiles::profiles(ctx, cmd)?,
        Command::Tenants(cmd) => tenants::run(ctx, cmd).await?,
        Command::Config(cmd) => config::run(ctx, cmd).await?,
        Command::Keys(cmd) => keys::run(ctx, cmd).await?,
        Command::Token(cmd) => token::run(ctx, cmd).await?,
        Command::SigningKeys(cmd) => signing_keys::run(ctx, cmd).await?,
        Command::OperatorKeys(cmd) => operator_keys::run(ctx, cmd).await?,
        Command::Audit(cmd) => return audit::run(ctx, cmd).await,
        Command::Usage(args) => return usage::run(ctx, args).await,
        Command::Rooms(cmd) => rooms::rooms(ctx, cmd).await?,
        Command::Participants(cmd) => rooms::participants(ctx, cmd).await?,
        Command::Webhooks(cmd) => webhooks::run(ctx, cmd).await?,
        Command::Events(cmd) => return events::run(ctx, cmd).await,
        Command::Plan(args) => provision::plan(ctx, args).await?,
        Command::Apply(args) => provision::apply(ctx, args).await?,
        Command::Export(args) => return provision::export(ctx, args).await.map(|()| None),
        Command::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "chalk", &mut out);
            out.flush()
                .map_err(|e| CliError::other(format!("could not write the script: {e}")))?;
            return Ok(None);
        }
    };
    Ok(Some(view))
}

/// The one exit path for errors: printed once to stderr, then the documented code.
fn fail(error: &CliError, json: bool) -> ExitCode {
    let details: Vec<_> = error
        .sdk()
        .map(|e| e.details().to_vec())
        .unwrap_or_default();
    let request_id = error.sdk().and_then(|e| e.request_id().map(str::to_owned));
    let code = error.exit_code();
    let mut err = std::io::stderr().lock();
    let _ = match json {
        true => {
            let body = json!({"error": {
                "code": error.code(),
                "message": error.message(),
                "details": details,
                "request_id": request_id,
                "hint": error.hint(),
                "exit_code": code,
            }});
            writeln!(err, "{body}")
        }
        false => {
            let mut text = format!(
                "{} {}: {}\n",
                style::paint_stderr("1;31", "error:"),
                error.code(),
                error.message()
            );
            for detail in &details {
                text.push_str(&format!("  - {}: {}\n", detail.field, detail.message));
            }
            if let Some(id) = &request_id {
                text.push_str(&format!("  request id: {id}\n"));
            }
            if let Some(hint) = error.hint() {
                text.push_str(&format!("  hint: {hint}\n"));
            }
            err.write_all(text.as_bytes())
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
