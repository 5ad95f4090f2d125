//! Workspaces: construction from config entries, id derivation and the JSON shape clients see
//! (contract §2.4, §2.5, §4.5).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::fs::paths::{basename, resolve_lexical};

/// A workspace entry as written in `server.json` (`workspaces[]`) or given on the command line.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)] // field names are the config keys of contract §2.2
pub struct WorkspaceConfig {
    pub path: Option<String>,
    pub id: Option<String>,
    pub name: Option<String>,
    pub preset: Option<String>,
    pub workspace_type: Option<WorkspaceType>,
    pub remote_type: Option<String>,
    pub base_url: Option<String>,
    pub directory: Option<String>,
    pub display_name: Option<String>,
    pub openwork_host_url: Option<String>,
    pub openwork_token: Option<String>,
    pub openwork_workspace_id: Option<String>,
    pub openwork_workspace_name: Option<String>,
    pub sandbox_backend: Option<String>,
    pub sandbox_run_id: Option<String>,
    pub sandbox_container_name: Option<String>,
    pub opencode_username: Option<String>,
    pub opencode_password: Option<String>,
}

impl WorkspaceConfig {
    /// The optional string fields with their config keys, in the reference's order. The
    /// OpenCode credentials come last: `server.json` stores them, the API nests them.
    pub(crate) fn optional_fields(&self) -> [(&'static str, &Option<String>); 13] {
        [
            ("remoteType", &self.remote_type),
            ("baseUrl", &self.base_url),
            ("directory", &self.directory),
            ("displayName", &self.display_name),
            ("openworkHostUrl", &self.openwork_host_url),
            ("openworkToken", &self.openwork_token),
            ("openworkWorkspaceId", &self.openwork_workspace_id),
            ("openworkWorkspaceName", &self.openwork_workspace_name),
            ("sandboxBackend", &self.sandbox_backend),
            ("sandboxRunId", &self.sandbox_run_id),
            ("sandboxContainerName", &self.sandbox_container_name),
            ("opencodeUsername", &self.opencode_username),
            ("opencodePassword", &self.opencode_password),
        ]
    }
}

/// Whether a workspace is a folder on this host or another server's workspace.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WorkspaceType {
    /// A folder on this host.
    #[default]
    Local,
    /// A workspace served elsewhere (OpenCode or another OpenWork server).
    Remote,
}

/// A configured workspace with its derived id, name and preset.
#[derive(Clone, Debug, PartialEq)]
pub struct Workspace {
    /// `ws_` + 12 hex digits of a SHA-256 (or the explicit id from the config).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Absolute path as given, lexically normalised, never resolved through symlinks;
    /// empty for remote workspaces without one.
    pub path: String,
    /// Starter preset name.
    pub preset: String,
    /// Local or remote.
    pub workspace_type: WorkspaceType,
    /// The remaining config fields, copied through.
    pub config: WorkspaceConfig,
}

/// `ws_` + the first 12 lowercase hex digits of SHA-256 of `key`.
pub fn workspace_id_for(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("ws_{}", &hex::encode(digest)[..12])
}

fn trimmed(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Workspace {
    /// Builds a workspace from its config entry; relative paths resolve against `base_dir`.
    pub fn from_config(config: WorkspaceConfig, base_dir: &str) -> Self {
        let raw_path = config.path.as_deref().map(str::trim).unwrap_or_default();
        let workspace_type = config.workspace_type.unwrap_or_default();
        let path = if raw_path.is_empty() {
            String::new()
        } else {
            resolve_lexical(base_dir, raw_path)
        };
        let id = match trimmed(&config.id) {
            Some(id) => id.to_owned(),
            None => workspace_id_for(&id_key(&config, workspace_type, &path)),
        };
        let name = [
            &config.name,
            &config.display_name,
            &config.openwork_workspace_name,
        ]
        .into_iter()
        .find_map(trimmed)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let source = [Some(path.as_str()).filter(|p| !p.is_empty())]
                .into_iter()
                .chain([trimmed(&config.directory), trimmed(&config.base_url)])
                .flatten()
                .next()
                .unwrap_or("Workspace");
            basename(source).to_owned()
        });
        let preset = trimmed(&config.preset)
            .map(str::to_owned)
            .unwrap_or_else(|| match workspace_type {
                WorkspaceType::Remote => "remote".to_owned(),
                WorkspaceType::Local => "starter".to_owned(),
            });
        Self {
            id,
            name,
            path,
            preset,
            workspace_type,
            config,
        }
    }

    /// The workspace folder.
    pub fn root(&self) -> &std::path::Path {
        std::path::Path::new(&self.path)
    }

    /// The project OpenCode config: `opencode.jsonc` if it exists, else `opencode.json` if
    /// it exists, else `opencode.jsonc` (new files are created as JSONC).
    pub fn project_config_path(&self) -> std::path::PathBuf {
        let jsonc = self.root().join("opencode.jsonc");
        if jsonc.exists() {
            return jsonc;
        }
        let json = self.root().join("opencode.json");
        if json.exists() { json } else { jsonc }
    }

    /// `.opencode/openwork.json` of the workspace.
    pub fn openwork_config_path(&self) -> std::path::PathBuf {
        self.root().join(".opencode").join("openwork.json")
    }

    /// The directory OpenCode works in: the explicit `directory`, else a local workspace's path.
    pub fn opencode_directory(&self) -> Option<&str> {
        trimmed(&self.config.directory).or(match self.workspace_type {
            WorkspaceType::Local if !self.path.is_empty() => Some(self.path.as_str()),
            _ => None,
        })
    }

    /// The JSON shape of contract §4.5. With `show_secrets` false (viewer tokens), the OpenCode
    /// credentials and `openworkToken` are left out.
    pub fn to_json(&self, show_secrets: bool) -> Value {
        let c = &self.config;
        let mut out = Map::new();
        out.insert("id".into(), self.id.clone().into());
        out.insert("name".into(), self.name.clone().into());
        out.insert("path".into(), self.path.clone().into());
        out.insert("preset".into(), self.preset.clone().into());
        out.insert(
            "workspaceType".into(),
            serde_json::to_value(self.workspace_type).unwrap_or(Value::Null),
        );
        for (key, value) in c.optional_fields() {
            // The credentials are reported inside `opencode` below.
            if key.starts_with("opencode") {
                continue;
            }
            // SECURITY: `openworkToken` reaches another server; viewers must not see it (D2).
            if key == "openworkToken" && !show_secrets {
                continue;
            }
            if let Some(value) = value {
                out.insert(key.into(), value.clone().into());
            }
        }
        let mut opencode = Map::new();
        if let Some(base_url) = &c.base_url {
            opencode.insert("baseUrl".into(), base_url.clone().into());
        }
        if let Some(directory) = self.opencode_directory() {
            opencode.insert("directory".into(), directory.into());
        }
        if show_secrets {
            if let Some(username) = &c.opencode_username {
                opencode.insert("username".into(), username.clone().into());
            }
            if let Some(password) = &c.opencode_password {
                opencode.insert("password".into(), password.clone().into());
            }
        }
        if !opencode.is_empty() {
            out.insert("opencode".into(), Value::Object(opencode));
        }
        Value::Object(out)
    }
}

#[cfg(test)]
impl Workspace {
    /// A local workspace at `path` with nothing else configured, for unit tests.
    pub(crate) fn local(path: &std::path::Path) -> Self {
        Self::from_config(
            WorkspaceConfig {
                path: Some(path.to_string_lossy().into_owned()),
                ..WorkspaceConfig::default()
            },
            "/",
        )
    }
}

/// The text hashed into a workspace id when none is configured.
fn id_key(config: &WorkspaceConfig, workspace_type: WorkspaceType, path: &str) -> String {
    let t = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or_default().to_owned();
    match workspace_type {
        WorkspaceType::Local => path.to_owned(),
        WorkspaceType::Remote if config.remote_type.as_deref() == Some("openwork") => {
            let host = config
                .openwork_host_url
                .as_deref()
                .or(config.base_url.as_deref())
                .unwrap_or_default()
                .trim();
            let mut key = format!("openwork::{host}");
            let workspace_id = t(&config.openwork_workspace_id);
            if !workspace_id.is_empty() {
                key.push_str("::");
                key.push_str(&workspace_id);
            }
            key
        }
        WorkspaceType::Remote => {
            let mut key = format!("remote::{}", t(&config.base_url));
            let directory = t(&config.directory);
            if !directory.is_empty() {
                key.push_str("::");
                key.push_str(&directory);
            }
            key
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_the_reference_vectors() {
        for (key, id) in [
            ("/tmp/ws", "ws_b011ea26cc73"),
            ("/tmp/refws", "ws_4be7d9038ffc"),
            ("/Users/susan/Finance", "ws_21b0cf5ce338"),
            ("/workspace", "ws_c52ddf65534b"),
            ("remote::http://10.0.0.8:4096", "ws_d00faacd6451"),
            ("remote::http://10.0.0.8:4096::/srv/app", "ws_f5bbbd41bc65"),
            ("openwork::http://host:8787::ws_abc", "ws_28e1b05fd08a"),
        ] {
            assert_eq!(workspace_id_for(key), id, "{key}");
        }
    }

    #[test]
    fn remote_ids_hash_their_trimmed_parts() {
        let remote = WorkspaceConfig {
            workspace_type: Some(WorkspaceType::Remote),
            base_url: Some(" http://10.0.0.8:4096 ".into()),
            directory: Some("/srv/app".into()),
            ..WorkspaceConfig::default()
        };
        let ws = Workspace::from_config(remote, "/etc");
        assert_eq!(ws.id, "ws_f5bbbd41bc65");
        assert_eq!(ws.preset, "remote");
        assert_eq!(ws.name, "app");
        assert_eq!(ws.path, "");

        let openwork = WorkspaceConfig {
            workspace_type: Some(WorkspaceType::Remote),
            remote_type: Some("openwork".into()),
            openwork_host_url: Some("http://host:8787".into()),
            openwork_workspace_id: Some("ws_abc".into()),
            ..WorkspaceConfig::default()
        };
        assert_eq!(Workspace::from_config(openwork, "/").id, "ws_28e1b05fd08a");
    }

    #[test]
    fn local_paths_resolve_lexically_against_the_base() {
        let ws = Workspace::from_config(
            WorkspaceConfig {
                path: Some(" ../refws/./ ".into()),
                ..WorkspaceConfig::default()
            },
            "/tmp/conf",
        );
        assert_eq!(ws.path, "/tmp/refws");
        assert_eq!(ws.id, "ws_4be7d9038ffc");
        assert_eq!(ws.name, "refws");
        assert_eq!(ws.preset, "starter");
        assert_eq!(ws.opencode_directory(), Some("/tmp/refws"));
    }

    #[test]
    fn explicit_names_win_in_order() {
        let ws = Workspace::from_config(
            WorkspaceConfig {
                path: Some("/tmp/ws".into()),
                name: Some("  ".into()),
                display_name: Some(" Finance ".into()),
                openwork_workspace_name: Some("other".into()),
                id: Some(" custom ".into()),
                ..WorkspaceConfig::default()
            },
            "/",
        );
        assert_eq!(ws.name, "Finance");
        assert_eq!(ws.id, "custom");
    }

    #[test]
    fn viewers_do_not_see_credentials() {
        let ws = Workspace::from_config(
            WorkspaceConfig {
                path: Some("/tmp/ws".into()),
                base_url: Some("http://127.0.0.1:4096".into()),
                opencode_username: Some("opencode".into()),
                opencode_password: Some("pw".into()),
                openwork_token: Some("secret".into()),
                ..WorkspaceConfig::default()
            },
            "/",
        );
        let full = ws.to_json(true);
        assert_eq!(full["opencode"]["password"], "pw");
        assert_eq!(full["openworkToken"], "secret");
        let viewer = ws.to_json(false);
        assert!(viewer["opencode"].get("password").is_none());
        assert!(viewer["opencode"].get("username").is_none());
        assert!(viewer.get("openworkToken").is_none());
        assert_eq!(viewer["opencode"]["directory"], "/tmp/ws");
    }
}
