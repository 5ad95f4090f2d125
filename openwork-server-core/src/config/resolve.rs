//! Turns the merged layers into a [`ServerConfig`]: the reference's per-setting coercions,
//! defaults, workspace construction and OpenCode inheritance (contract §2.3–§2.5).

use figment::Profile;
use serde::Deserialize;
use std::path::{Path, PathBuf};

use super::layers::{self, CLI_LAYER, CliOverrides, ENV_LAYER};
use super::values::{BoolLike, NumberLike};
use super::{
    ApprovalConfig, ApprovalMode, ConfigError, DEFAULT_APPROVAL_TIMEOUT_MS, DEFAULT_PORT,
    EnvSource, LogFormat, OpencodeDefaults, Secret, ServerConfig, TokenSource,
};
use crate::fs::paths::resolve_lexical;
use crate::workspace::{Workspace, WorkspaceConfig};

/// The merged layers before coercion. Every field is optional: absence means "not set by
/// any layer" and the default applies.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    host: Option<String>,
    port: Option<NumberLike>,
    token: Option<String>,
    host_token: Option<String>,
    #[serde(default)]
    approval: RawApproval,
    workspaces: Option<Vec<WorkspaceConfig>>,
    cors_origins: Option<Vec<String>>,
    authorized_roots: Option<Vec<String>>,
    read_only: Option<BoolLike>,
    log_format: Option<String>,
    log_requests: Option<BoolLike>,
    opencode_base_url: Option<String>,
    opencode_directory: Option<String>,
    opencode_username: Option<String>,
    opencode_password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawApproval {
    mode: Option<String>,
    timeout_ms: Option<NumberLike>,
}

/// Which layer supplied a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layer {
    File,
    Env,
    Cli,
}

/// Where to look for things the configuration refers to.
pub(crate) struct Context<'a> {
    /// `--config`, when given.
    pub(crate) config_file: Option<&'a Path>,
    /// The environment for the `OPENWORK_*` layer.
    pub(crate) env: &'a EnvSource,
    /// Explicit overrides.
    pub(crate) cli: &'a CliOverrides,
    /// What relative command-line and environment paths resolve against (D8).
    pub(crate) current_dir: &'a Path,
}

/// Loads and resolves the configuration.
pub(crate) fn load(ctx: &Context<'_>) -> Result<ServerConfig, ConfigError> {
    let cwd = ctx.current_dir.to_string_lossy().into_owned();
    let home = ctx
        .env
        .get_non_empty("HOME")
        .or_else(|| std::env::home_dir().map(|p| p.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "/".to_owned());
    let config_path = match ctx.config_file {
        Some(path) => resolve_lexical(&cwd, &path.to_string_lossy()),
        None => match ctx.env.get_non_empty("OPENWORK_SERVER_CONFIG") {
            Some(path) => resolve_lexical(&cwd, &path),
            None => resolve_lexical(&home, ".config/openwork/server.json"),
        },
    };
    let config_dir = resolve_lexical(&config_path, "..");

    let figment = layers::figment(Path::new(&config_path), ctx.env, ctx.cli);
    let raw: RawConfig = figment.extract()?;
    let layer_of = |key: &str| -> Option<Layer> {
        figment.find_metadata(key).map(|m| match m.name.as_ref() {
            ENV_LAYER => Layer::Env,
            CLI_LAYER => Layer::Cli,
            _ => Layer::File,
        })
    };
    let describe = |key: &str| -> String {
        match figment.find_metadata(key) {
            Some(m) if m.name == ENV_LAYER || m.name == CLI_LAYER => {
                format!("{} {}", m.name, m.interpolate(&Profile::Default, &[key]))
            }
            _ => format!("config file {config_path}"),
        }
    };

    let port = match raw.port.as_ref().map(NumberLike::to_number) {
        None | Some(None) => DEFAULT_PORT,
        Some(Some(n)) if n.fract() == 0.0 && (0.0..=65535.0).contains(&n) => n as u16,
        Some(Some(n)) => {
            return Err(ConfigError::Value {
                source_name: describe("port"),
                key: "port".into(),
                message: format!("{n} is not a port number (0-65535)"),
            });
        }
    };

    let token_of = |value: Option<String>, key: &str| -> (Secret, TokenSource) {
        match value.filter(|v| !v.is_empty()) {
            Some(token) => {
                let source = match layer_of(key) {
                    Some(Layer::Cli) => TokenSource::Cli,
                    Some(Layer::Env) => TokenSource::Env,
                    _ => TokenSource::File,
                };
                (Secret::new(token), source)
            }
            None => (
                Secret::new(uuid::Uuid::new_v4().to_string()),
                TokenSource::Generated,
            ),
        }
    };
    let (token, token_source) = token_of(raw.token, "token");
    let (host_token, host_token_source) = token_of(raw.host_token, "hostToken");

    let approval = ApprovalConfig {
        mode: match raw.approval.mode.as_deref() {
            Some("auto") => ApprovalMode::Auto,
            _ => ApprovalMode::Manual,
        },
        // A non-numeric timeout falls back to the default rather than to a lower layer.
        timeout_ms: match raw
            .approval
            .timeout_ms
            .as_ref()
            .and_then(NumberLike::to_number)
        {
            Some(n) => n.max(0.0).trunc() as u64,
            None => DEFAULT_APPROVAL_TIMEOUT_MS,
        },
    };

    // SECURITY (D8): paths typed on a command line or in an environment variable mean what
    // they mean in the shell that typed them; only the file's own entries are file-relative.
    let workspace_base = match layer_of("workspaces") {
        Some(Layer::Env | Layer::Cli) => cwd.as_str(),
        _ => config_dir.as_str(),
    };
    let mut workspaces: Vec<Workspace> = raw
        .workspaces
        .unwrap_or_default()
        .into_iter()
        .map(|entry| Workspace::from_config(entry, workspace_base))
        .collect();

    let non_blank = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let opencode = OpencodeDefaults {
        base_url: non_blank(raw.opencode_base_url),
        directory: non_blank(raw.opencode_directory),
        username: non_blank(raw.opencode_username),
        password: non_blank(raw.opencode_password),
    };
    inherit_opencode(&mut workspaces, &opencode);

    let authorized_roots = match raw.authorized_roots.filter(|roots| !roots.is_empty()) {
        Some(roots) => roots
            .iter()
            .map(|root| resolve_lexical(&config_dir, root.trim()))
            .collect(),
        None => workspaces
            .iter()
            .filter(|ws| !ws.path.is_empty())
            .map(|ws| ws.path.clone())
            .collect(),
    };

    let token_store_path = match ctx.env.get_non_empty("OPENWORK_TOKEN_STORE") {
        Some(path) => resolve_lexical(&cwd, &path),
        None => resolve_lexical(&config_dir, "tokens.json"),
    };

    Ok(ServerConfig {
        host: non_blank(raw.host).unwrap_or_else(|| "127.0.0.1".to_owned()),
        port,
        token,
        token_source,
        host_token,
        host_token_source,
        approval,
        workspaces,
        cors_origins: raw.cors_origins.unwrap_or_else(|| vec!["*".to_owned()]),
        authorized_roots,
        read_only: raw.read_only.is_some_and(|v| v.is_true()),
        log_format: raw
            .log_format
            .as_deref()
            .and_then(LogFormat::from_name)
            .unwrap_or_default(),
        log_requests: raw.log_requests.is_none_or(|v| v.is_true()),
        opencode,
        config_path: PathBuf::from(config_path),
        token_store_path: PathBuf::from(token_store_path),
    })
}

/// Contract §2.5: workspaces without their own OpenCode connection use the server's; the
/// server directory applies only when there is exactly one workspace.
fn inherit_opencode(workspaces: &mut [Workspace], server: &OpencodeDefaults) {
    let any_set = server.base_url.is_some()
        || server.directory.is_some()
        || server.username.is_some()
        || server.password.is_some();
    if workspaces.is_empty() || !any_set {
        return;
    }
    let single = workspaces.len() == 1;
    let fill = |slot: &mut Option<String>, value: &Option<String>| {
        if slot.as_deref().is_none_or(|s| s.trim().is_empty()) && value.is_some() {
            slot.clone_from(value);
        }
    };
    for ws in workspaces {
        fill(&mut ws.config.base_url, &server.base_url);
        fill(&mut ws.config.opencode_username, &server.username);
        fill(&mut ws.config.opencode_password, &server.password);
        if single {
            fill(&mut ws.config.directory, &server.directory);
        }
    }
}
