//! Workspace configuration (contract §4.6, §4.7, Appendix A `opencode-config`):
//! `GET/PATCH /workspace/:id/config` over the project OpenCode config (JSONC, edited in
//! place) and `.opencode/openwork.json`, and raw text access to the project and global
//! OpenCode config files.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::path::Path;

use super::guard::{ReadAccess, WriteAccess};
use super::openapi::errors;
use super::openapi::params::WorkspaceId;
use super::openapi::schemas::{self, ErrorBody};
use crate::error::ApiError;
use crate::events::{ReloadReason, ReloadTrigger};
use crate::fs::jsonc::JsoncDocument;
use crate::pipeline::extract::{FirstQuery, JsonObject};
use crate::state::{AppState, now_ms};
use utoipa::IntoParams;

/// JavaScript truthiness of a JSON value, which decides whether a section was "given".
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_) | Value::Object(_)) => true,
    }
}

fn as_object(value: Option<&Value>) -> Map<String, Value> {
    match value {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    }
}

fn path_string(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The `config` reload trigger for a config file.
pub(crate) fn config_trigger(path: &Path) -> ReloadTrigger {
    ReloadTrigger::new(
        "config",
        path.file_name().map(|n| n.to_string_lossy().into_owned()),
        "updated",
        Some(path_string(path)),
    )
}

/// Both config documents and the time of the newest audit entry. The documents are
/// spliced in already serialised (they are cached that way), which keeps this hot route
/// to a few `stat`s and one small allocation.
#[utoipa::path(
    get,
    path = "/workspace/{id}/config",
    summary = "Read the workspace config",
    tag = "config",
    params(WorkspaceId),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses(
        (status = 200, description = "The project OpenCode config and openwork.json", body = schemas::workspace::WorkspaceConfig),
        (status = 422, description = errors::CONFIG_UNPARSEABLE, body = ErrorBody),
    ),
)]
pub(super) async fn get_config(
    State(state): State<AppState>,
    access: ReadAccess,
) -> Result<Response, ApiError> {
    let ws = &access.workspace;
    let opencode = state.project_config_doc(ws)?;
    let openwork = state.openwork_config_shared(ws)?;
    let updated_at = state.audit.newest_timestamp(ws).await;
    let mut body = String::with_capacity(opencode.json.len() + openwork.json.len() + 64);
    body.push_str("{\"opencode\":");
    body.push_str(&opencode.json);
    body.push_str(",\"openwork\":");
    body.push_str(&openwork.json);
    body.push_str(",\"updatedAt\":");
    match updated_at {
        Some(ms) => body.push_str(&ms.to_string()),
        None => body.push_str("null"),
    }
    body.push('}');
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The project-config edits a PATCH asks for: every top-level key but `permission`, and of
/// `permission` only `external_directory`.
fn opencode_edits(updates: &Map<String, Value>) -> (Vec<(String, Value)>, Option<Value>) {
    let sets = updates
        .iter()
        .filter(|(key, _)| key.as_str() != "permission")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let external = updates
        .get("permission")
        .and_then(Value::as_object)
        .and_then(|p| p.get("external_directory"))
        .cloned();
    (sets, external)
}

/// Applies the edits to the project config text (or creates it).
fn edit_project_config(
    existing: Option<&str>,
    sets: &[(String, Value)],
    external: Option<&Value>,
) -> Result<String, ApiError> {
    let Some(text) = existing else {
        let mut fresh = Map::new();
        for (key, value) in sets {
            fresh.insert(key.clone(), value.clone());
        }
        if let Some(value) = external {
            fresh.insert("permission".into(), json!({ "external_directory": value }));
        }
        let mut out = serde_json::to_string_pretty(&fresh).map_err(ApiError::internal)?;
        out.push('\n');
        return Ok(out);
    };
    let mut doc = JsoncDocument::parse(text).map_err(|e| e.into_api_error())?;
    for (key, value) in sets {
        doc.set(key, value);
    }
    if let Some(value) = external {
        doc.set_path(&["permission", "external_directory"], value);
    }
    Ok(doc.to_text())
}

fn read_optional(path: &Path) -> Result<Option<String>, ApiError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// Edits the project OpenCode config and/or `openwork.json` after approval.
#[utoipa::path(
    patch,
    path = "/workspace/{id}/config",
    summary = "Change the workspace config",
    tag = "config",
    params(WorkspaceId),
    security(("bearer" = ["collaborator"])),
    extensions(
        ("x-openwork-access" = json!("workspace-write")),
        ("x-openwork-approval" = json!("config.patch")),
    ),
    request_body = schemas::workspace::ConfigPatch,
    responses(
        (status = 200, description = "Written", body = schemas::workspace::ConfigUpdated),
        (status = 400, description = "- `invalid_payload`: opencode or openwork updates required", body = ErrorBody),
        (status = 422, description = errors::CONFIG_UNPARSEABLE, body = ErrorBody),
    ),
)]
pub(super) async fn patch_config(
    access: WriteAccess,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let (opencode, openwork) = (body.get("opencode"), body.get("openwork"));
    let (patch_opencode, patch_openwork) = (truthy(opencode), truthy(openwork));
    if !patch_opencode && !patch_openwork {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            "opencode or openwork updates required",
        ));
    }
    let ws = &access.workspace;
    let config_path = ws.project_config_path();
    let openwork_path = ws.openwork_config_path();
    // D4: the files must be readable before anyone is asked to approve a change to them.
    let state = &access.state;
    if patch_opencode {
        state.read_jsonc_object(&config_path)?;
    }
    if patch_openwork {
        state.read_openwork_config(ws)?;
    }
    let mut paths = Vec::new();
    if patch_opencode {
        paths.push(path_string(&config_path));
    }
    if patch_openwork {
        paths.push(path_string(&openwork_path));
    }
    access
        .approve("config.patch", "Patch workspace config", paths)
        .await?;

    if patch_opencode {
        let _lock = state.file_locks.lock(&config_path).await;
        let (sets, external) = opencode_edits(&as_object(opencode));
        let text = edit_project_config(
            read_optional(&config_path)?.as_deref(),
            &sets,
            external.as_ref(),
        )?;
        access.write_file(&config_path, text).await?;
    }
    if patch_openwork {
        let _lock = state.file_locks.lock(&openwork_path).await;
        let mut merged = state.read_openwork_config(ws)?;
        merged.extend(as_object(openwork));
        let mut text = serde_json::to_string_pretty(&merged).map_err(ApiError::internal)?;
        text.push('\n');
        access.write_file(&openwork_path, text).await?;
    }
    access
        .audit("config.patch", "opencode.json", "Patched workspace config")
        .await;
    if patch_opencode {
        access.reload(ReloadReason::Config, Some(config_trigger(&config_path)));
    }
    Ok(Json(json!({ "updatedAt": now_ms() })))
}

/// `?scope=project|global`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ScopeQuery {
    /// `global` reads the host user's config; anything else the project's.
    #[param(value_type = Option<schemas::workspace::ConfigScope>, inline)]
    scope: Option<String>,
}

fn is_global(scope: Option<&str>) -> bool {
    scope == Some("global")
}

/// The raw text of the project or global OpenCode config.
#[utoipa::path(
    get,
    path = "/workspace/{id}/opencode-config",
    summary = "Read an OpenCode config file",
    tag = "config",
    params(WorkspaceId, ScopeQuery),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses((status = 200, description = "The file's raw text", body = schemas::workspace::OpencodeConfigFile)),
)]
pub(super) async fn get_opencode_config(
    State(state): State<AppState>,
    access: ReadAccess,
    FirstQuery(query): FirstQuery<ScopeQuery>,
) -> Result<Json<Value>, ApiError> {
    let path = if is_global(query.scope.as_deref()) {
        state.global_config_path()
    } else {
        access.workspace.project_config_path()
    };
    let content = read_optional(&path)?;
    Ok(Json(json!({
        "path": path_string(&path),
        "exists": content.is_some(),
        "content": content,
    })))
}

/// Replaces the project or global OpenCode config with the given text after approval.
#[utoipa::path(
    post,
    path = "/workspace/{id}/opencode-config",
    summary = "Replace an OpenCode config file",
    tag = "config",
    params(WorkspaceId),
    security(("bearer" = ["collaborator"])),
    extensions(
        ("x-openwork-access" = json!("workspace-write")),
        ("x-openwork-approval" = json!("config.write | config.global.write")),
    ),
    request_body = schemas::workspace::OpencodeConfigWrite,
    responses(
        (status = 200, description = "Written", body = schemas::workspace::CommandRun),
        (status = 400, description = "- `invalid_payload`: content must be a string", body = ErrorBody),
    ),
)]
pub(super) async fn write_opencode_config(
    access: WriteAccess,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let Some(content) = body.get("content").and_then(Value::as_str) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            "content must be a string",
        ));
    };
    let global = is_global(body.get("scope").and_then(Value::as_str));
    let (path, action, what) = if global {
        (
            access.state.global_config_path(),
            "config.global.write",
            "global",
        )
    } else {
        (
            access.workspace.project_config_path(),
            "config.write",
            "project",
        )
    };
    let shown = path_string(&path);
    access
        .approve(
            action,
            format!("Write {what} OpenCode config"),
            vec![shown.clone()],
        )
        .await?;
    let mut text = content.to_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    {
        let _lock = access.state.file_locks.lock(&path).await;
        access.write_file(&path, text).await?;
    }
    access
        .audit(
            action,
            shown.clone(),
            format!("Wrote {what} OpenCode config"),
        )
        .await;
    if !global {
        access.reload(ReloadReason::Config, Some(config_trigger(&path)));
    }
    Ok(Json(json!({
        "ok": true,
        "status": 0,
        "stdout": format!("Wrote {shown}"),
        "stderr": "",
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthiness_follows_javascript() {
        assert!(!truthy(None));
        assert!(!truthy(Some(&json!(null))));
        assert!(!truthy(Some(&json!(0))));
        assert!(!truthy(Some(&json!(""))));
        assert!(truthy(Some(&json!({}))));
        assert!(truthy(Some(&json!([]))));
        assert!(truthy(Some(&json!("x"))));
    }

    #[test]
    fn only_external_directory_of_permission_is_honoured() {
        let (sets, external) = opencode_edits(
            json!({"model": "m", "permission": {"edit": "allow", "external_directory": "deny"}})
                .as_object()
                .unwrap(),
        );
        assert_eq!(sets, [("model".to_owned(), json!("m"))]);
        assert_eq!(external, Some(json!("deny")));
    }

    #[test]
    fn a_new_config_holds_just_the_updates() {
        let text = edit_project_config(None, &[("mcp".into(), json!({}))], None).unwrap();
        assert_eq!(text, "{\n  \"mcp\": {}\n}\n");
    }
}
