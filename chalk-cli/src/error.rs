//! The one error type of the CLI and the one mapping from failures to exit codes.
//!
//! Every command returns `Result<_, CliError>`; `main` prints the error once, to stderr,
//! and exits with [`CliError::exit_code`]. The codes are documented in docs/cli.md and in
//! `chalk --help`.

use chalk_sdk::Error as SdkError;
use chalk_sdk::provision::ProvisionError;

/// The documented exit codes (0 is success).
pub mod exit {
    pub const OTHER: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const AUTHENTICATION: i32 = 3;
    pub const PERMISSION: i32 = 4;
    pub const NOT_FOUND: i32 = 5;
    pub const CONFLICT: i32 = 6;
    pub const INVALID_INPUT: i32 = 7;
    pub const RATE_LIMITED: i32 = 8;
    pub const UNAVAILABLE: i32 = 9;
    /// Not an error: `chalk plan` found changes to make.
    pub const CHANGES: i32 = 10;
}

#[derive(Debug)]
pub enum CliError {
    /// What the SDK reported: the server's answer, or no answer at all.
    Api(SdkError),
    /// Wrong or missing arguments, a prompt that cannot be shown, a missing `--yes`.
    Usage(String),
    /// Input the CLI itself found invalid (a patch file that is not a config patch).
    Invalid(String),
    /// No credential to act with.
    Unauthenticated(String),
    /// Something local that does not exist (a profile).
    NotFound(String),
    /// Anything else: I/O on the config directory, the keyring, a terminal that failed.
    Other(String),
    /// `plan`, `apply`, `export`: the files, a secret reference, the server, a stale plan.
    Provision(ProvisionError),
}

pub type CliResult<T> = Result<T, CliError>;

impl From<SdkError> for CliError {
    fn from(error: SdkError) -> Self {
        CliError::Api(error)
    }
}

impl From<ProvisionError> for CliError {
    fn from(error: ProvisionError) -> Self {
        CliError::Provision(error)
    }
}

impl CliError {
    /// The SDK error inside, if any: its details and request id are printed.
    pub fn sdk(&self) -> Option<&SdkError> {
        match self {
            CliError::Api(e) => Some(e),
            CliError::Provision(ProvisionError::Api { source, .. }) => Some(source),
            _ => None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    pub fn other(message: impl Into<String>) -> Self {
        CliError::Other(message.into())
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Api(error) => sdk_exit_code(error),
            CliError::Usage(_) => exit::USAGE,
            CliError::Invalid(_) => exit::INVALID_INPUT,
            CliError::Unauthenticated(_) => exit::AUTHENTICATION,
            CliError::NotFound(_) => exit::NOT_FOUND,
            CliError::Other(_) => exit::OTHER,
            CliError::Provision(error) => match error {
                ProvisionError::Api { source, .. } => sdk_exit_code(source),
                ProvisionError::File(_)
                | ProvisionError::Secret(..)
                | ProvisionError::SecretCollision(_) => exit::INVALID_INPUT,
                ProvisionError::Stale(_) => exit::CONFLICT,
                ProvisionError::NotFound(_) => exit::NOT_FOUND,
                _ => exit::OTHER,
            },
        }
    }

    /// The code shown with the message: the API's code, or a local one.
    pub fn code(&self) -> String {
        match self {
            CliError::Api(error) => sdk_code(error),
            CliError::Usage(_) => "USAGE".into(),
            CliError::Invalid(_) => "INVALID_INPUT".into(),
            CliError::Unauthenticated(_) => "UNAUTHENTICATED".into(),
            CliError::NotFound(_) => "NOT_FOUND".into(),
            CliError::Other(_) => "ERROR".into(),
            CliError::Provision(error) => match error {
                ProvisionError::Api { source, .. } => sdk_code(source),
                ProvisionError::File(_) => "INVALID_FILE".into(),
                ProvisionError::Secret(..) => "SECRET_UNAVAILABLE".into(),
                ProvisionError::SecretCollision(_) => "SECRET_NAME_COLLISION".into(),
                ProvisionError::Stale(_) => "STALE_PLAN".into(),
                ProvisionError::NotFound(_) => "NOT_FOUND".into(),
                _ => "ERROR".into(),
            },
        }
    }

    pub fn message(&self) -> String {
        match self {
            CliError::Api(error) => sdk_message(error),
            CliError::Usage(m)
            | CliError::Invalid(m)
            | CliError::Unauthenticated(m)
            | CliError::NotFound(m)
            | CliError::Other(m) => m.clone(),
            CliError::Provision(ProvisionError::Api { context, source }) => {
                format!("{context}: {}", sdk_message(source))
            }
            CliError::Provision(other) => other.to_string(),
        }
    }

    /// What to do about it, in one line.
    pub fn hint(&self) -> Option<&'static str> {
        match self.exit_code() {
            exit::AUTHENTICATION => Some(
                "check the credential: run `chalk login`, or set CHALK_MASTER_KEY or CHALK_API_KEY (`chalk whoami` shows which one is used)",
            ),
            exit::PERMISSION => Some(
                "the credential is valid but not allowed to do this: use the master key or a key with the needed scope",
            ),
            exit::NOT_FOUND if matches!(self, CliError::Api(_)) => {
                Some("check the id; a resource of another tenant is reported as not found")
            }
            exit::CONFLICT => {
                Some("the resource changed or already exists: read it again and retry")
            }
            // Its message already says what to do (rename one, or write JSON).
            exit::INVALID_INPUT
                if matches!(
                    self,
                    CliError::Provision(ProvisionError::SecretCollision(_))
                ) =>
            {
                None
            }
            exit::INVALID_INPUT => Some("fix the fields listed above and run the command again"),
            exit::RATE_LIMITED => Some("wait and retry; the server said how long in Retry-After"),
            exit::UNAVAILABLE => Some(
                "check that the server is running and that --api-url (CHALK_API_URL) points to it, then retry",
            ),
            exit::USAGE => Some("see `chalk --help` or `chalk COMMAND --help`"),
            _ => None,
        }
    }
}

/// The code shown for an SDK failure: the API's, or what kind of failure it was.
fn sdk_code(error: &SdkError) -> String {
    match error {
        SdkError::Api { code, .. } => code.to_string(),
        SdkError::Transport(_) => "UNREACHABLE".into(),
        SdkError::Timeout(_) => "TIMEOUT".into(),
        SdkError::Decode { .. } => "BAD_RESPONSE".into(),
        SdkError::Config(_) => "USAGE".into(),
        _ => "ERROR".into(),
    }
}

fn sdk_message(error: &SdkError) -> String {
    match error {
        SdkError::Api { message, .. } => message.clone(),
        SdkError::Config(message) => message.clone(),
        other => other.to_string(),
    }
}

/// The exit code of an SDK failure: by HTTP status for answers, 9 for no answer.
pub fn sdk_exit_code(error: &SdkError) -> i32 {
    match error {
        SdkError::Api { status, .. } => status_exit_code(*status),
        SdkError::Transport(_) | SdkError::Timeout(_) => exit::UNAVAILABLE,
        SdkError::Config(_) => exit::USAGE,
        _ => exit::OTHER,
    }
}

pub fn status_exit_code(status: u16) -> i32 {
    match status {
        401 => exit::AUTHENTICATION,
        403 => exit::PERMISSION,
        404 => exit::NOT_FOUND,
        409 | 412 => exit::CONFLICT,
        400 | 413 | 415 | 422 => exit::INVALID_INPUT,
        429 => exit::RATE_LIMITED,
        500..=599 => exit::UNAVAILABLE,
        _ => exit::OTHER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_documented_codes() {
        let cases = [
            (401, 3),
            (403, 4),
            (404, 5),
            (409, 6),
            (412, 6),
            (400, 7),
            (413, 7),
            (415, 7),
            (422, 7),
            (429, 8),
            (500, 9),
            (503, 9),
            (405, 1),
            (418, 1),
        ];
        for (status, code) in cases {
            assert_eq!(status_exit_code(status), code, "status {status}");
        }
    }
}
