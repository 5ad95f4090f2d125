//! Server configuration: defaults < JSON config file < `OPENWORK_*` environment < command
//! line, per setting (contract §2.2–§2.5), resolved once at startup into a [`ServerConfig`].

mod env;
mod error;
mod layers;
mod resolve;
mod switches;
mod values;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

pub use env::EnvSource;
pub use error::ConfigError;
pub use layers::CliOverrides;
pub(crate) use resolve::{Context, load};
pub use switches::{BrowserProvider, INBOX_MAX_BYTES_CAP, INBOX_MAX_BYTES_DEFAULT, Switches};
pub use values::{parse_list, switch_default_on};

use crate::workspace::Workspace;

/// A random UUIDv4 string, the form of generated tokens and run ids.
pub fn random_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Port used when none is configured (or the configured one is not a number).
pub const DEFAULT_PORT: u16 = 8787;
/// Approval wait used when none is configured.
pub const DEFAULT_APPROVAL_TIMEOUT_MS: u64 = 30_000;

/// How the server writes its log lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// The message text alone, one per line.
    #[default]
    Pretty,
    /// One OpenTelemetry-shaped JSON record per line.
    Json,
}

impl LogFormat {
    /// `json` → JSON; `pretty`, `text`, `human` → pretty; anything else → `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "pretty" | "text" | "human" => Some(Self::Pretty),
            _ => None,
        }
    }

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pretty => "pretty",
            Self::Json => "json",
        }
    }
}

pub use crate::approvals::ApprovalMode;

/// Where a token came from, as `/status` and `--verbose` report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenSource {
    /// A command-line flag.
    Cli,
    /// An environment variable.
    Env,
    /// The config file.
    File,
    /// Generated at startup (a random UUID).
    Generated,
}

impl TokenSource {
    /// The spelling used in `/status` and boot lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cli => "cli",
            Self::Env => "env",
            Self::File => "file",
            Self::Generated => "generated",
        }
    }
}

/// A secret string whose `Debug` output never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call sites are where it may leave the process.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The server-level OpenCode connection (contract §2.5).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpencodeDefaults {
    /// `opencodeBaseUrl`.
    pub base_url: Option<String>,
    /// `opencodeDirectory`.
    pub directory: Option<String>,
    /// `opencodeUsername`.
    pub username: Option<String>,
    /// `opencodePassword`.
    pub password: Option<String>,
}

/// The approval settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApprovalConfig {
    /// Auto-allow or ask the host.
    pub mode: ApprovalMode,
    /// How long a write waits for a reply before it is denied.
    pub timeout_ms: u64,
}

/// The resolved configuration the server runs with.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to bind.
    pub host: String,
    /// Configured port (`0` for an ephemeral one; `/status` reports this value).
    pub port: u16,
    /// The client token (scope collaborator).
    pub token: Secret,
    /// Where the client token came from.
    pub token_source: TokenSource,
    /// The host token.
    pub host_token: Secret,
    /// Where the host token came from.
    pub host_token_source: TokenSource,
    /// Approval mode and timeout.
    pub approval: ApprovalConfig,
    /// Workspaces in order; the first is the active one.
    pub workspaces: Vec<Workspace>,
    /// Allowed CORS origins (`*` allows any).
    pub cors_origins: Vec<String>,
    /// Folders workspaces must lie in.
    pub authorized_roots: Vec<String>,
    /// Refuse every write.
    pub read_only: bool,
    /// Log line format.
    pub log_format: LogFormat,
    /// Whether each request is logged.
    pub log_requests: bool,
    /// Server-level OpenCode connection.
    pub opencode: OpencodeDefaults,
    /// The config file path (whether or not it exists).
    pub config_path: PathBuf,
    /// Where scoped tokens are stored.
    pub token_store_path: PathBuf,
}

#[cfg(test)]
mod tests;
