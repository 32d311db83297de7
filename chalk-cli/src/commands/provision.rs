//! `chalk plan`, `chalk apply`, `chalk export`: provisioning as code, on
//! `chalk_sdk::provision` (which holds the file format, the diff and the requests).

use std::io::Write;
use std::path::PathBuf;

use chalk_sdk::provision::{self, Action, Change, NewSecret, Plan, SecretSink, SecretsFile};
use serde_json::Value;

use crate::context::Context;
use crate::error::{CliError, CliResult, exit};
use crate::output::{Block, Format, View};

const FILE_HELP: &str = "A TOML file declaring tenants by external_id, or a directory of them (every *.toml inside); repeat for several";

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 nothing would change; 10 something would; otherwise the usual codes.

Examples:
  chalk plan -f chalk.toml
  chalk plan -f tenants/ --prune
  chalk plan -f chalk.toml -o json > plan.json   # review it, then: chalk apply -f chalk.toml --plan plan.json"
)]
pub struct PlanArgs {
    #[arg(short = 'f', long = "file", value_name = "PATH", required = true, help = FILE_HELP)]
    pub files: Vec<PathBuf>,
    /// Also plan deletions: API keys and webhook endpoints the files do not declare, and replacing keys whose scopes or expiry differ
    #[arg(long)]
    pub prune: bool,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "New secrets (a new tenant's primary key, API keys, webhook endpoint secrets) are never printed: they go to
--secrets-out (required when the run creates any), mode 0600, JSON or dotenv by extension,
and are masked with ::add-mask:: when GITHUB_ACTIONS=true.

Examples:
  chalk apply -f chalk.toml --secrets-out secrets.json
  chalk apply -f chalk.toml --plan plan.json --secrets-out .chalk-secrets.env
  chalk apply -f chalk.toml --prune --yes"
)]
pub struct ApplyArgs {
    #[arg(short = 'f', long = "file", value_name = "PATH", required = true, help = FILE_HELP)]
    pub files: Vec<PathBuf>,
    /// Make deletions too (asks first; `--yes` without a terminal)
    #[arg(long)]
    pub prune: bool,
    /// Do not ask before deleting
    #[arg(short, long)]
    pub yes: bool,
    /// A plan saved by `chalk plan -o json`: apply only if it is still exactly what would change (exit 6 otherwise)
    #[arg(long, value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    /// Where new secrets go (mode 0600; `.env` for dotenv, else JSON); merged with what it holds
    #[arg(long, value_name = "FILE")]
    pub secrets_out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Writes TOML (JSON with -o json). Secrets become { env = \"CHALK_<ID>_…\" } references to fill in.

Examples:
  chalk export > chalk.toml
  chalk export acme globex --out chalk.toml"
)]
pub struct ExportArgs {
    /// External ids of the tenants to export [default: every tenant that has one]
    pub external_ids: Vec<String>,
    /// Write to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

fn load(files: &[PathBuf]) -> CliResult<provision::Desired> {
    Ok(provision::load(files).map_err(provision::ProvisionError::from)?)
}

pub async fn plan(ctx: &Context, args: PlanArgs) -> CliResult<View> {
    let desired = load(&args.files)?;
    let client = ctx.client()?;
    let plan = provision::plan(&client, &desired, args.prune).await?;
    let mut blocks = describe(&plan);
    blocks.push(Block::Line(summary(&plan, "would change")));
    let mut view = View::new(&plan, blocks)?;
    if plan.has_changes() {
        view.exit_code = exit::CHANGES;
    }
    Ok(view)
}

pub async fn apply(ctx: &Context, args: ApplyArgs) -> CliResult<View> {
    let desired = load(&args.files)?;
    let client = ctx.client()?;
    let fresh = provision::plan(&client, &desired, args.prune).await?;
    if let Some(path) = &args.plan {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(format!("--plan {}: {e}", path.display())))?;
        let saved: Plan = serde_json::from_str(&text).map_err(|e| {
            CliError::Invalid(format!(
                "--plan {}: not a plan from `chalk plan -o json`: {e}",
                path.display()
            ))
        })?;
        provision::verify(&saved, &fresh)?;
    }
    if !fresh.has_changes() {
        let mut blocks = describe(&fresh);
        blocks.push(Block::Line("No changes.".into()));
        return View::new(&fresh, blocks);
    }
    let mut sink = args.secrets_out.clone().map(|path| Masked {
        file: SecretsFile::new(path),
        github: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
    });
    if let Some(sink) = &sink {
        // `apply` checks it too; here it also spares a question for a run refused anyway.
        sink.check(&fresh)?;
    }
    let deletions = fresh.deletion_count();
    if deletions > 0 {
        ctx.confirm(
            args.yes,
            &format!(
                "Revoke {deletions} API key(s) the files do not declare (or declare differently)?"
            ),
        )?;
    }
    let Some(sink) = &mut sink else {
        if fresh.creates_secrets() {
            return Err(CliError::usage(
                "this run creates secrets (a new tenant's primary key, API keys or webhook endpoint secrets), which are never printed: pass --secrets-out FILE (.json, or .env for dotenv)",
            ));
        }
        provision::apply(&client, &fresh, &mut NoSecrets).await?;
        return applied(&fresh, None);
    };
    provision::apply(&client, &fresh, sink).await?;
    applied(&fresh, Some(&sink.file))
}

fn applied(plan: &Plan, secrets: Option<&SecretsFile>) -> CliResult<View> {
    let mut blocks = describe(plan);
    blocks.push(Block::Line(summary(plan, "changed")));
    if let Some(file) = secrets.filter(|f| f.written() > 0) {
        blocks.push(Block::Line(format!(
            "{} new secret(s) written to {} (mode 0600).",
            file.written(),
            file.path().display()
        )));
    }
    let mut json = serde_json::to_value(plan)
        .map_err(|e| CliError::other(format!("could not encode the output: {e}")))?;
    json["applied"] = Value::Bool(true);
    if let Some(file) = secrets {
        json["secrets_out"] = Value::String(file.path().display().to_string());
        json["secrets_written"] = Value::from(file.written());
    }
    View::new(json, blocks)
}

pub async fn export(ctx: &Context, args: ExportArgs) -> CliResult<()> {
    let client = ctx.client()?;
    let (document, skipped) = provision::export(&client, &args.external_ids).await?;
    for id in skipped {
        eprintln!(
            "note: {id} has no external_id and is not exported; give it one with `chalk tenants update {id} --external-id NAME`"
        );
    }
    let text = match ctx.globals.output {
        Some(Format::Json) => serde_json::to_string_pretty(&document)
            .map(|t| t + "\n")
            .map_err(|e| CliError::other(format!("could not encode the output: {e}")))?,
        _ => provision::to_toml(&document)?,
    };
    let written = match &args.out {
        Some(path) => std::fs::write(path, text),
        None => std::io::stdout().lock().write_all(text.as_bytes()),
    };
    written.map_err(|e| CliError::other(format!("could not write the export: {e}")))
}

/// Secrets to the file, each masked first for GitHub Actions: `::add-mask::` with the
/// secret's random part (after `sk_live_`/`whsec_`), so the runner hides it, and any line
/// holding the whole secret, from every later log line, while the log never shows the
/// recognisable secret itself.
struct Masked {
    file: SecretsFile,
    github: bool,
}

impl SecretSink for Masked {
    fn check(&self, plan: &Plan) -> Result<(), provision::ProvisionError> {
        self.file.check(plan)
    }

    fn keep(&mut self, secret: NewSecret) -> Result<(), String> {
        if self.github {
            let value = secret.value.expose();
            let random = ["sk_live_", "whsec_"]
                .iter()
                .find_map(|prefix| value.strip_prefix(prefix))
                .unwrap_or(value);
            let mut out = std::io::stdout().lock();
            writeln!(out, "::add-mask::{random}")
                .and_then(|()| out.flush())
                .map_err(|e| format!("could not write ::add-mask::: {e}"))?;
        }
        self.file.keep(secret)
    }
}

/// Used only when the plan creates no secret.
struct NoSecrets;

impl SecretSink for NoSecrets {
    fn keep(&mut self, _: NewSecret) -> Result<(), String> {
        Err("a secret was created but no --secrets-out was given".into())
    }
}

fn describe(plan: &Plan) -> Vec<Block> {
    let mut lines = Vec::new();
    for tenant in &plan.tenants {
        if tenant.changes.is_empty() && tenant.needs_prune.is_empty() {
            continue;
        }
        let what = match &tenant.tenant_id {
            None => "create".to_owned(),
            Some(id) => id.clone(),
        };
        lines.push(format!("tenant {} ({what})", tenant.external_id));
        for change in &tenant.changes {
            lines.push(format!("  {}", line(change)));
        }
        for change in &tenant.needs_prune {
            lines.push(format!("  {}   (left alone: needs --prune)", line(change)));
        }
    }
    if lines.is_empty() {
        return Vec::new();
    }
    vec![Block::Line(lines.join("\n"))]
}

fn line(change: &Change) -> String {
    let sign = match change.action {
        Action::Create => "+",
        Action::Update => "~",
        Action::Replace => "-/+",
        Action::Delete => "-",
    };
    let field = match change.object.as_str() {
        "api_key" | "webhook_endpoint" => format!("{} {}", change.object, change.field),
        _ => change.field.clone(),
    };
    if change.secret {
        return format!("{sign} {field}: (changed)");
    }
    let show = |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_default();
    match (&change.old, &change.new) {
        (Some(_), Some(_)) => format!(
            "{sign} {field}: {} → {}",
            show(&change.old),
            show(&change.new)
        ),
        (None, Some(_)) => format!("{sign} {field}: {}", show(&change.new)),
        (Some(_), None) => format!("{sign} {field}: {}", show(&change.old)),
        (None, None) => format!("{sign} {field}"),
    }
}

fn summary(plan: &Plan, verb: &str) -> String {
    let changed = plan
        .tenants
        .iter()
        .filter(|t| !t.changes.is_empty())
        .count();
    let left: usize = plan.tenants.iter().map(|t| t.needs_prune.len()).sum();
    let mut text = match plan.change_count() {
        0 => format!(
            "No changes: the server matches the files ({} tenant(s)).",
            plan.tenants.len()
        ),
        n => format!("{n} change(s) to {changed} tenant(s) {verb}."),
    };
    if left > 0 {
        text.push_str(&format!(" {left} deletion(s) left alone without --prune."));
    }
    text
}
