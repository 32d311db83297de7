//! New secrets to a file: JSON or dotenv by extension, mode 0600, merged with what the
//! file already holds (a re-run keeps the secrets an interrupted run wrote).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::apply::{NewSecret, SecretKind, SecretSink};
use super::export::{endpoint_env_name, env_name, upper};

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

    /// The variable a secret gets in a dotenv file, and its key in the JSON file.
    pub fn env_key(secret: &NewSecret) -> String {
        match &secret.kind {
            SecretKind::PrimaryKey => env_name(&secret.external_id, "PRIMARY_KEY"),
            SecretKind::ApiKey(name) => {
                env_name(&secret.external_id, &format!("API_KEY_{}", upper(name)))
            }
            SecretKind::EndpointSecret(url) => endpoint_env_name(&secret.external_id, url),
        }
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
