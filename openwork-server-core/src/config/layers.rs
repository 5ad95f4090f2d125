//! The configuration layers as figment providers: the JSON config file, the `OPENWORK_*`
//! environment and the command-line overrides. Each layer names itself and maps keys back to
//! its own spelling (`OPENWORK_PORT`, `--port`), so an error says where a bad value came from.

use figment::providers::{Format, Json, Serialized};
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
use serde_json::{Value, json};
use std::path::Path;

use super::env::EnvSource;
use super::values::{parse_list, parse_switch};
use super::{ApprovalMode, LogFormat};

/// Name of the environment layer in figment metadata.
pub(crate) const ENV_LAYER: &str = "environment variable";
/// Name of the command-line layer in figment metadata.
pub(crate) const CLI_LAYER: &str = "command-line flag";

/// Explicit settings given by the host, highest precedence. In the binary these are the
/// command-line flags; an embedding host sets them directly. `None` (or an empty list) means
/// "not given", so an absent flag never overrides the file or the environment.
#[derive(Clone, Debug, Default)]
pub struct CliOverrides {
    /// `--host`: the address to bind.
    pub host: Option<String>,
    /// `--port`: the port to bind; `0` asks the system for a free one.
    pub port: Option<u16>,
    /// `--token`: the client token (scope collaborator).
    pub token: Option<String>,
    /// `--host-token`: the host token accepted in `X-OpenWork-Host-Token`.
    pub host_token: Option<String>,
    /// `--approval`: how writes are approved.
    pub approval_mode: Option<ApprovalMode>,
    /// `--approval-timeout`: how long a write waits for a reply before it is denied.
    pub approval_timeout_ms: Option<u64>,
    /// `--workspace` (repeatable): workspace folders; relative ones resolve against the
    /// current directory. When non-empty, replaces the environment's and the file's lists.
    pub workspaces: Vec<String>,
    /// `--cors`: allowed origins.
    pub cors_origins: Option<Vec<String>>,
    /// `--read-only`: refuse every write.
    pub read_only: Option<bool>,
    /// `--log-format`: pretty text or JSON records.
    pub log_format: Option<LogFormat>,
    /// `--log-requests` / `--no-log-requests`.
    pub log_requests: Option<bool>,
    /// `--opencode-base-url`: where OpenCode listens.
    pub opencode_base_url: Option<String>,
    /// `--opencode-directory`: the directory OpenCode works in.
    pub opencode_directory: Option<String>,
    /// `--opencode-username`: OpenCode basic-auth user.
    pub opencode_username: Option<String>,
    /// `--opencode-password`: OpenCode basic-auth password.
    pub opencode_password: Option<String>,
}

/// Environment variables of the configuration layer and the config keys they set.
const ENV_KEYS: &[(&str, &str)] = &[
    ("OPENWORK_HOST", "host"),
    ("OPENWORK_PORT", "port"),
    ("OPENWORK_TOKEN", "token"),
    ("OPENWORK_HOST_TOKEN", "hostToken"),
    ("OPENWORK_APPROVAL_MODE", "approval.mode"),
    ("OPENWORK_APPROVAL_TIMEOUT_MS", "approval.timeoutMs"),
    ("OPENWORK_WORKSPACES", "workspaces"),
    ("OPENWORK_CORS_ORIGINS", "corsOrigins"),
    ("OPENWORK_READONLY", "readOnly"),
    ("OPENWORK_LOG_FORMAT", "logFormat"),
    ("OPENWORK_LOG_REQUESTS", "logRequests"),
    ("OPENWORK_OPENCODE_BASE_URL", "opencodeBaseUrl"),
    ("OPENWORK_OPENCODE_DIRECTORY", "opencodeDirectory"),
    ("OPENWORK_OPENCODE_USERNAME", "opencodeUsername"),
    ("OPENWORK_OPENCODE_PASSWORD", "opencodePassword"),
];

/// Flags and the config keys they set.
const CLI_KEYS: &[(&str, &str)] = &[
    ("--host", "host"),
    ("--port", "port"),
    ("--token", "token"),
    ("--host-token", "hostToken"),
    ("--approval", "approval.mode"),
    ("--approval-timeout", "approval.timeoutMs"),
    ("--workspace", "workspaces"),
    ("--cors", "corsOrigins"),
    ("--read-only", "readOnly"),
    ("--log-format", "logFormat"),
    ("--log-requests", "logRequests"),
    ("--opencode-base-url", "opencodeBaseUrl"),
    ("--opencode-directory", "opencodeDirectory"),
    ("--opencode-username", "opencodeUsername"),
    ("--opencode-password", "opencodePassword"),
];

/// The environment variable that sets `key`, for error messages.
pub(crate) fn env_name(key: &str) -> Option<&'static str> {
    ENV_KEYS
        .iter()
        .find(|(_, k)| *k == key)
        .map(|(name, _)| *name)
}

/// The flag that sets `key`, for error messages.
pub(crate) fn flag_name(key: &str) -> Option<&'static str> {
    CLI_KEYS
        .iter()
        .find(|(_, k)| *k == key)
        .map(|(name, _)| *name)
}

/// A layer of already-coerced values that reports itself under its own name.
struct Layer {
    name: &'static str,
    values: serde_json::Map<String, Value>,
    spell: fn(&str) -> Option<&'static str>,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        let spell = self.spell;
        Metadata::named(self.name).interpolater(move |_profile, keys| {
            let key = keys.join(".");
            spell(&key).map_or(key, str::to_owned)
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::defaults(&self.values).data()
    }
}

/// Sets `path` (dotted) in a JSON object, creating nested objects.
fn set_path(map: &mut serde_json::Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        Some((head, rest)) => {
            let child = map.entry(head).or_insert_with(|| json!({}));
            if let Value::Object(child) = child {
                set_path(child, rest, value);
            }
        }
        None => {
            map.insert(path.to_owned(), value);
        }
    }
}

/// Workspace entries for a list of paths, as the CLI and environment give them.
fn workspace_entries(paths: &[String]) -> Value {
    Value::Array(paths.iter().map(|p| json!({ "path": p })).collect())
}

/// The `OPENWORK_*` layer. Values stay strings (a numeric-looking token is still a token);
/// settings the reference ignores when malformed are left out so lower layers show through.
pub(crate) fn env_layer(env: &EnvSource) -> impl Provider {
    let mut values = serde_json::Map::new();
    for (name, key) in ENV_KEYS {
        // Blank variables count as unset: an exported-but-empty variable must not wipe a
        // token or a host from the config file.
        let Some(raw) = env.get_non_empty(name) else {
            continue;
        };
        let value = match *key {
            "workspaces" => {
                let paths = parse_list(&raw);
                if paths.is_empty() {
                    continue;
                }
                workspace_entries(&paths)
            }
            "corsOrigins" => json!(parse_list(&raw)),
            "readOnly" => json!(matches!(
                raw.to_ascii_lowercase().as_str(),
                "true" | "1" | "yes"
            )),
            "logFormat" => match LogFormat::from_name(&raw) {
                Some(format) => json!(format.as_str()),
                None => continue,
            },
            "logRequests" => match parse_switch(&raw) {
                Some(on) => json!(on),
                None => continue,
            },
            // Tokens, credentials and paths are used exactly as given.
            "token" | "hostToken" | "opencodeUsername" | "opencodePassword" => {
                json!(env.get(name).unwrap_or_default())
            }
            _ => json!(raw),
        };
        set_path(&mut values, key, value);
    }
    Layer {
        name: ENV_LAYER,
        values,
        spell: env_name,
    }
}

/// The command-line layer.
pub(crate) fn cli_layer(cli: &CliOverrides) -> impl Provider {
    let mut values = serde_json::Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            set_path(&mut values, key, value);
        }
    };
    put("host", cli.host.as_ref().map(|v| json!(v)));
    put("port", cli.port.map(|v| json!(v)));
    put("token", cli.token.as_ref().map(|v| json!(v)));
    put("hostToken", cli.host_token.as_ref().map(|v| json!(v)));
    put(
        "approval.mode",
        cli.approval_mode.map(|m| json!(m.as_str())),
    );
    put(
        "approval.timeoutMs",
        cli.approval_timeout_ms.map(|v| json!(v)),
    );
    put(
        "workspaces",
        (!cli.workspaces.is_empty()).then(|| workspace_entries(&cli.workspaces)),
    );
    put("corsOrigins", cli.cors_origins.as_ref().map(|v| json!(v)));
    put("readOnly", cli.read_only.map(|v| json!(v)));
    put("logFormat", cli.log_format.map(|f| json!(f.as_str())));
    put("logRequests", cli.log_requests.map(|v| json!(v)));
    put(
        "opencodeBaseUrl",
        cli.opencode_base_url.as_ref().map(|v| json!(v)),
    );
    put(
        "opencodeDirectory",
        cli.opencode_directory.as_ref().map(|v| json!(v)),
    );
    put(
        "opencodeUsername",
        cli.opencode_username.as_ref().map(|v| json!(v)),
    );
    put(
        "opencodePassword",
        cli.opencode_password.as_ref().map(|v| json!(v)),
    );
    Layer {
        name: CLI_LAYER,
        values,
        spell: flag_name,
    }
}

/// The layered configuration: file < environment < command line, merged per setting.
/// Lists (workspaces, origins) are replaced whole by a higher layer, never merged.
/// A missing config file is an empty layer, as in the reference.
pub(crate) fn figment(config_path: &Path, env: &EnvSource, cli: &CliOverrides) -> Figment {
    let mut figment = Figment::new();
    if config_path.exists() {
        figment = figment.merge(Json::file_exact(config_path));
    }
    figment.merge(env_layer(env)).merge(cli_layer(cli))
}
