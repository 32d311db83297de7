//! New secrets to a file: JSON or dotenv by extension, mode 0600, merged with what the
//! file already holds (a re-run keeps the secrets an interrupted run wrote).
//!
//! JSON keeps every name as written (`tenants.<external_id>.api_keys.<name>`); dotenv
//! needs variable names, which fold punctuation and case (`acme-prod` and `acme.prod` are
//! both `CHALK_ACME_PROD_…`). Those names stay as they are — readable, and the ones
//! `export` writes references to and deployments already read — and a plan two of whose
//! secrets would fold to one variable is refused before any change, naming both
//! ([`SecretSink::check`]): a secret is shown once, and the second write would lose the
//! first.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::ProvisionError;
use super::apply::{NewSecret, SecretSink};
use super::export::{endpoint_env_name, env_name, upper};
use super::plan::{Plan, SecretKind};

/// Writes each secret as it arrives (the file is rewritten whole, through a 0600
/// temporary file renamed over it, so it is never half-written nor readable by others).
#[derive(Debug)]
pub struct SecretsFile {
    path: PathBuf,
    written: usize,
}

impl SecretsFile {
    pub fn new(path: PathBuf) -> Self {
        Self { path, written: 0 }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// How many secrets were written.
    pub fn written(&self) -> usize {
        self.written
    }

    fn dotenv(&self) -> bool {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase());
        name.is_some_and(|n| n.ends_with(".env") || n == ".env")
    }

    /// The variable a secret gets in a dotenv file.
    pub fn env_key(secret: &NewSecret) -> String {
        variable(&secret.external_id, &secret.kind)
    }

    fn render(&self, secret: &NewSecret) -> Result<String, String> {
        let existing = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", self.path.display())),
        };
        if self.dotenv() {
            let mut lines: BTreeMap<String, String> = BTreeMap::new();
            for line in existing.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    lines.insert(k.trim().to_owned(), v.to_owned());
                }
            }
            lines.insert(Self::env_key(secret), secret.value.expose().to_owned());
            return Ok(lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect());
        }
        let mut root: Map<String, Value> = if existing.trim().is_empty() {
            Map::new()
        } else {
            serde_json::from_str(&existing)
                .map_err(|e| format!("{} is not a JSON object: {e}", self.path.display()))?
        };
        let tenants = root
            .entry("tenants")
            .or_insert_with(|| Value::Object(Map::new()));
        let tenant = tenants
            .as_object_mut()
            .ok_or_else(|| format!("{}: `tenants` is not an object", self.path.display()))?
            .entry(secret.external_id.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let tenant = tenant
            .as_object_mut()
            .ok_or_else(|| format!("{}: a tenant entry is not an object", self.path.display()))?;
        let value = Value::String(secret.value.expose().to_owned());
        match &secret.kind {
            SecretKind::PrimaryKey => {
                tenant.insert("primary_key".into(), value);
            }
            SecretKind::ApiKey(name) => insert(tenant, "api_keys", name, value),
            SecretKind::EndpointSecret(url) => insert(tenant, "webhook_endpoints", url, value),
        }
        serde_json::to_string_pretty(&root)
            .map(|text| text + "\n")
            .map_err(|e| format!("cannot encode secrets: {e}"))
    }
}

/// The dotenv variable of `external_id`'s secret `kind`.
fn variable(external_id: &str, kind: &SecretKind) -> String {
    match kind {
        SecretKind::PrimaryKey => env_name(external_id, "PRIMARY_KEY"),
        SecretKind::ApiKey(name) => env_name(external_id, &format!("API_KEY_{}", upper(name))),
        SecretKind::EndpointSecret(url) => endpoint_env_name(external_id, url),
    }
}

/// A secret as a person finds it in the files.
fn describe(external_id: &str, kind: &SecretKind) -> String {
    match kind {
        SecretKind::PrimaryKey => format!("the primary key of tenant `{external_id}`"),
        SecretKind::ApiKey(name) => format!("API key `{name}` of tenant `{external_id}`"),
        SecretKind::EndpointSecret(url) => {
            format!("the secret of webhook endpoint {url} of tenant `{external_id}`")
        }
    }
}

/// `tenant[group][name] = value`.
fn insert(tenant: &mut Map<String, Value>, group: &str, name: &str, value: Value) {
    let entries = tenant
        .entry(group)
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(entries) = entries.as_object_mut() {
        entries.insert(name.to_owned(), value);
    }
}

impl SecretSink for SecretsFile {
    /// In a dotenv file, every secret the plan's tenants declare must have a variable of
    /// its own — those created earlier too, whose line a new secret would overwrite.
    fn check(&self, plan: &Plan) -> Result<(), ProvisionError> {
        if !self.dotenv() {
            return Ok(());
        }
        let mut owners: BTreeMap<String, (&str, &SecretKind)> = BTreeMap::new();
        for (external_id, kind) in plan.declared_secrets() {
            let name = variable(external_id, kind);
            if let Some((first_id, first_kind)) = owners.get(&name) {
                return Err(ProvisionError::SecretCollision(format!(
                    "--secrets-out {}: {} and {} would both be written as {name}, and one of \
                     them lost; nothing was changed. Rename one of them, or write the secrets \
                     to a .json file, which keeps every name as it is",
                    self.path.display(),
                    describe(first_id, first_kind),
                    describe(external_id, kind),
                )));
            }
            owners.insert(name, (external_id, kind));
        }
        Ok(())
    }

    fn keep(&mut self, secret: NewSecret) -> Result<(), String> {
        let text = self.render(&secret)?;
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let fail = |e: std::io::Error| format!("cannot write {}: {e}", self.path.display());
        let mut file = options.open(&tmp).map_err(fail)?;
        #[cfg(unix)]
        {
            // A temporary file left by a crashed run may exist with other permissions.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(fail)?;
        }
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(fail)?;
        std::fs::rename(&tmp, &self.path).map_err(fail)?;
        self.written += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::TenantPlan;

    /// A plan of tenants declaring these secrets (what the server holds does not matter).
    fn plan(tenants: &[(&str, &[SecretKind])]) -> Plan {
        Plan {
            prune: false,
            tenants: tenants
                .iter()
                .map(|(external_id, secrets)| TenantPlan {
                    external_id: (*external_id).to_owned(),
                    tenant_id: None,
                    etag: None,
                    changes: Vec::new(),
                    needs_prune: Vec::new(),
                    ops: Default::default(),
                    declared_secrets: secrets.to_vec(),
                })
                .collect(),
        }
    }

    fn key(name: &str) -> SecretKind {
        SecretKind::ApiKey(name.to_owned())
    }

    fn collision(plan: &Plan) -> String {
        let dotenv = SecretsFile::new("out/secrets.env".into());
        match dotenv.check(plan) {
            Err(ProvisionError::SecretCollision(message)) => message,
            other => panic!("expected a collision, got {other:?}"),
        }
    }

    #[test]
    fn a_dotenv_file_refuses_two_secrets_of_one_variable_naming_both() {
        let primary = [SecretKind::PrimaryKey];
        let message = collision(&plan(&[("acme-prod", &primary), ("acme.prod", &primary)]));
        assert!(
            message.contains("the primary key of tenant `acme-prod`")
                && message.contains("the primary key of tenant `acme.prod`")
                && message.contains("CHALK_ACME_PROD_PRIMARY_KEY")
                && message.contains("out/secrets.env"),
            "{message}"
        );

        let keys = [SecretKind::PrimaryKey, key("ci-bot"), key("ci_bot")];
        let message = collision(&plan(&[("acme", &keys)]));
        assert!(
            message.contains("API key `ci-bot` of tenant `acme`")
                && message.contains("API key `ci_bot` of tenant `acme`"),
            "{message}"
        );

        // Across tenants and kinds: the folded names meet in the middle.
        let message = collision(&plan(&[
            ("a", &[SecretKind::PrimaryKey, key("b-primary-key")]),
            ("a-api-key-b", &[SecretKind::PrimaryKey]),
        ]));
        assert!(
            message.contains("API key `b-primary-key` of tenant `a`")
                && message.contains("the primary key of tenant `a-api-key-b`"),
            "{message}"
        );

        let endpoints = [
            SecretKind::EndpointSecret("https://hooks.acme.edu/a-b".into()),
            SecretKind::EndpointSecret("https://hooks.acme.edu/a.b".into()),
        ];
        let message = collision(&plan(&[("acme", &endpoints)]));
        assert!(
            message.contains("https://hooks.acme.edu/a-b")
                && message.contains("https://hooks.acme.edu/a.b"),
            "{message}"
        );
    }

    #[test]
    fn distinct_variables_and_json_files_are_accepted() {
        let primary = [SecretKind::PrimaryKey];
        let colliding = plan(&[("acme-prod", &primary), ("acme.prod", &primary)]);
        // JSON keeps the names as written: nothing folds.
        for name in ["secrets.json", "secrets", "/dev/null"] {
            SecretsFile::new(name.into()).check(&colliding).unwrap();
        }
        let apart = plan(&[
            (
                "acme-prod",
                &[SecretKind::PrimaryKey, key("ci-bot"), key("ci-bots")],
            ),
            ("acme-staging", &primary),
        ]);
        SecretsFile::new("secrets.env".into())
            .check(&apart)
            .unwrap();
    }
}
