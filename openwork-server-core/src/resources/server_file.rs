//! Persisting workspace management to `server.json` (contract Appendix A): only when that
//! file already exists, only its `workspaces` and `authorizedRoots` keys are replaced, every
//! other key keeps its value and its place, and the file is replaced atomically.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

use crate::error::ApiError;
use crate::fs::atomic::{FileMode, write_atomic};
use crate::state::WorkspaceList;
use crate::workspace::{Workspace, WorkspaceType};

/// `server.json` as read before a change: its top-level object, keys in file order.
#[derive(Debug, Clone)]
pub(crate) struct ServerFile {
    path: PathBuf,
    document: Map<String, Value>,
}

/// Reads the config file. `Ok(None)` when it does not exist: nothing is persisted then.
/// Invalid JSON is `422 invalid_json` ("Failed to parse server config") naming the file, so a
/// file that was broken after startup is reported instead of overwritten.
pub(crate) async fn load(path: &Path) -> Result<Option<ServerFile>, ApiError> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || load_blocking(path))
        .await
        .map_err(ApiError::internal)?
}

fn load_blocking(path: PathBuf) -> Result<Option<ServerFile>, ApiError> {
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(ApiError::internal(error)),
    };
    let document = match serde_json::from_slice::<Value>(&bytes) {
        // A file that is JSON but not an object holds no settings; like the reference, it
        // is replaced by one that holds the workspaces.
        Ok(value) => match value {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        Err(error) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_json",
                "Failed to parse server config",
            )
            .with_details(json!({
                "path": path.to_string_lossy(),
                "error": error.to_string(),
            })));
        }
    };
    Ok(Some(ServerFile { path, document }))
}

impl ServerFile {
    /// Writes the file back with `list` in place of its workspaces and authorized roots.
    pub(crate) async fn save(self, list: &WorkspaceList) -> Result<(), ApiError> {
        let bytes = render(self.document, list);
        let path = self.path;
        // SECURITY: server.json holds the client and host tokens and OpenCode credentials,
        // so it is rewritten readable by its owner only (D14).
        tokio::task::spawn_blocking(move || write_atomic(&path, &bytes, FileMode::Private))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)
    }
}

/// The new file text: `document` with `workspaces` and `authorizedRoots` replaced (keys
/// that exist keep their position, new ones go last), two-space JSON and a final newline.
fn render(mut document: Map<String, Value>, list: &WorkspaceList) -> Vec<u8> {
    let workspaces = list.items.iter().map(workspace_entry).collect();
    let mut roots: Vec<&str> = Vec::new();
    for root in &list.authorized_roots {
        if !roots.contains(&root.as_str()) {
            roots.push(root);
        }
    }
    document.insert("workspaces".into(), Value::Array(workspaces));
    document.insert("authorizedRoots".into(), json!(roots));
    let mut bytes = serde_json::to_vec_pretty(&Value::Object(document)).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// A workspace as a `workspaces[]` entry: the fixed fields, then each optional field that
/// is set and not empty, in the reference's order.
fn workspace_entry(workspace: &Workspace) -> Value {
    let c = &workspace.config;
    let mut entry = Map::new();
    entry.insert("id".into(), workspace.id.clone().into());
    entry.insert("path".into(), workspace.path.clone().into());
    entry.insert("name".into(), workspace.name.clone().into());
    entry.insert("preset".into(), workspace.preset.clone().into());
    let kind = match workspace.workspace_type {
        WorkspaceType::Local => "local",
        WorkspaceType::Remote => "remote",
    };
    entry.insert("workspaceType".into(), kind.into());
    for (key, value) in c.optional_fields() {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            entry.insert(key.into(), value.into());
        }
    }
    Value::Object(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::WorkspaceConfig;

    fn local(path: &str) -> Workspace {
        Workspace::from_config(
            WorkspaceConfig {
                path: Some(path.into()),
                ..WorkspaceConfig::default()
            },
            "/",
        )
    }

    #[test]
    fn replaces_only_the_workspace_keys_in_place() {
        let document: Map<String, Value> =
            serde_json::from_str(r#"{"z":1,"workspaces":[],"a":{"b":[true,null]},"port":0}"#)
                .unwrap();
        let list = WorkspaceList {
            items: vec![local("/tmp/ws")],
            authorized_roots: vec!["/tmp/ws".into(), "/srv".into(), "/tmp/ws".into()],
        };
        let text = String::from_utf8(render(document, &list)).unwrap();
        assert_eq!(
            text,
            "{\n  \"z\": 1,\n  \"workspaces\": [\n    {\n      \"id\": \"ws_b011ea26cc73\",\n      \
             \"path\": \"/tmp/ws\",\n      \"name\": \"ws\",\n      \"preset\": \"starter\",\n      \
             \"workspaceType\": \"local\"\n    }\n  ],\n  \"a\": {\n    \"b\": [\n      true,\n      \
             null\n    ]\n  },\n  \"port\": 0,\n  \"authorizedRoots\": [\n    \"/tmp/ws\",\n    \
             \"/srv\"\n  ]\n}\n"
        );
    }

    #[test]
    fn entries_carry_set_fields_only() {
        let mut workspace = local("/tmp/ws");
        workspace.config.display_name = Some("Finance".into());
        workspace.config.base_url = Some(String::new());
        workspace.config.opencode_password = Some("pw".into());
        let entry = workspace_entry(&workspace);
        let keys: Vec<&str> = entry
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "path",
                "name",
                "preset",
                "workspaceType",
                "displayName",
                "opencodePassword"
            ]
        );
    }

    #[tokio::test]
    async fn a_missing_file_is_not_created_and_a_broken_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.json");
        assert!(load(&path).await.unwrap().is_none());
        std::fs::write(&path, "{broken").unwrap();
        let error = load(&path).await.unwrap_err();
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.code, "invalid_json");
        assert_eq!(std::fs::read(&path).unwrap(), b"{broken");
    }
}
