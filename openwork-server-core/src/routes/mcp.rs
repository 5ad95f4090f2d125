//! MCP servers (contract §4.10): `GET/POST /workspace/:id/mcp` and
//! `DELETE /workspace/:id/mcp/:name` over the `mcp` maps of the global and project OpenCode
//! configs; writes touch only the project config's `mcp` value.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use std::path::Path;

use super::guard::{ReadAccess, WriteAccess};
use super::openapi::errors;
use super::openapi::params::WorkspaceId;
use super::openapi::schemas::{self, ErrorBody};
use super::plugins::{js_string, parse_config_text, path_string, read_config_text};
use crate::error::ApiError;
use crate::events::{ReloadReason, ReloadTrigger};
use crate::pipeline::extract::{JsonObject, PathParams};
use crate::resources::mcp::{self, McpItem};
use crate::resources::plugins::config_text_with;
use crate::state::AppState;
use crate::workspace::Workspace;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_mcp, add_mcp))
        .routes(routes!(remove_mcp))
}

/// JavaScript truthiness, which decides whether a `config` was sent at all.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// The host user's global OpenCode config. One that does not parse is left out of the
/// listing (D9): it is not this workspace's file and must not break its routes.
fn global_config(state: &AppState) -> Result<Map<String, Value>, ApiError> {
    let path = state.global_config_path();
    match state.read_jsonc_object(&path) {
        Err(error) if error.code == "invalid_jsonc" => {
            tracing::warn!(
                target: "openwork_server::mcp",
                "Skipping unparseable global OpenCode config {}",
                path.display()
            );
            Ok(Map::new())
        }
        other => other,
    }
}

/// Global entries (unless the project overrides them), then the project's.
fn mcp_items(state: &AppState, workspace: &Workspace) -> Result<Vec<McpItem>, ApiError> {
    let project = state.read_jsonc_object(&workspace.project_config_path())?;
    let global = global_config(state)?;
    Ok(mcp::list(&project, &global))
}

/// Lists the MCP servers the workspace's OpenCode sees.
#[utoipa::path(
    get,
    path = "/workspace/{id}/mcp",
    summary = "List MCP servers",
    tag = "mcp",
    params(WorkspaceId),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses(
        (status = 200, description = "Global servers the project does not override, then the project's", body = schemas::workspace::McpList),
        (status = 422, description = errors::JSONC_UNPARSEABLE, body = ErrorBody),
    ),
)]
async fn list_mcp(
    State(state): State<AppState>,
    access: ReadAccess,
) -> Result<Json<Value>, ApiError> {
    let items = mcp_items(&state, &access.workspace)?;
    Ok(Json(json!({ "items": items })))
}

/// Rewrites the project config's `mcp` map with `edit` under the file's lock. `edit`
/// answers whether it changed the map; nothing is written when it did not.
async fn edit_servers(
    access: &WriteAccess,
    path: &Path,
    edit: impl FnOnce(&mut Map<String, Value>) -> bool,
) -> Result<bool, ApiError> {
    let _lock = access.state.file_locks.lock(path).await;
    let existing = read_config_text(path)?;
    let mut servers = mcp::servers(&parse_config_text(existing.as_deref())?);
    if !edit(&mut servers) {
        return Ok(false);
    }
    let text = config_text_with(existing.as_deref(), "mcp", &Value::Object(servers))?;
    access.write_file(path, text).await?;
    Ok(true)
}

/// Adds or replaces one project MCP server.
#[utoipa::path(
    post,
    path = "/workspace/{id}/mcp",
    summary = "Add or replace an MCP server",
    tag = "mcp",
    params(WorkspaceId),
    security(("bearer" = ["collaborator"])),
    extensions(
        ("x-openwork-access" = json!("workspace-write")),
        ("x-openwork-approval" = json!("mcp.add")),
    ),
    request_body = schemas::workspace::McpAdd,
    responses(
        (status = 200, description = "The MCP servers afterwards", body = schemas::workspace::McpList),
        (status = 400, description = "- `invalid_payload`: MCP config is required\n- `invalid_mcp_name`: MCP name must be alphanumeric and not start with -\n- `invalid_mcp_config`: MCP config type must be local or remote | Local MCP requires command array | Remote MCP requires url", body = ErrorBody),
        (status = 422, description = errors::JSONC_UNPARSEABLE, body = ErrorBody),
    ),
)]
async fn add_mcp(
    access: WriteAccess,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let name = js_string(body.get("name"));
    let Some(config) = body.get("config").filter(|c| truthy(c)).cloned() else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            "MCP config is required",
        ));
    };
    // D4: the reference checks the name and config after approval; we refuse before
    // anyone is asked, with the same errors, and check the config file can be edited.
    mcp::validate_name(&name)?;
    mcp::validate_config(&config)?;
    let path = access.workspace.project_config_path();
    access.state.read_jsonc_object(&path)?;
    access
        .approve(
            "mcp.add",
            format!("Add MCP {name}"),
            vec![path_string(&path)],
        )
        .await?;

    let mut existed = false;
    edit_servers(&access, &path, |servers| {
        // An existing entry is replaced in place, keeping its position in the file.
        existed = servers.insert(name.clone(), config).is_some();
        true
    })
    .await?;
    access
        .audit("mcp.add", "opencode.json", format!("Added MCP {name}"))
        .await;
    let action = if existed { "updated" } else { "added" };
    access.reload(
        ReloadReason::Mcp,
        Some(ReloadTrigger::new("mcp", Some(name), action, None)),
    );
    let items = mcp_items(&access.state, &access.workspace)?;
    Ok(Json(json!({ "items": items })))
}

/// Removes a project MCP server; an unknown name is not an error and is not validated.
#[utoipa::path(
    delete,
    path = "/workspace/{id}/mcp/{name}",
    summary = "Remove an MCP server",
    tag = "mcp",
    params(WorkspaceId, ("name" = String, Path, description = "MCP server name")),
    security(("bearer" = ["collaborator"])),
    extensions(
        ("x-openwork-access" = json!("workspace-write")),
        ("x-openwork-approval" = json!("mcp.remove")),
    ),
    responses(
        (status = 200, description = "The MCP servers afterwards", body = schemas::workspace::McpList),
        (status = 422, description = errors::JSONC_UNPARSEABLE, body = ErrorBody),
    ),
)]
async fn remove_mcp(
    access: WriteAccess,
    PathParams((_, name)): PathParams<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    // SECURITY: the name is only looked up as a key of the project's `mcp` map; it never
    // becomes a path or a new key, so it needs no validation (as in the reference).
    let path = access.workspace.project_config_path();
    access.state.read_jsonc_object(&path)?;
    access
        .approve(
            "mcp.remove",
            format!("Remove MCP {name}"),
            vec![path_string(&path)],
        )
        .await?;

    let removed = edit_servers(&access, &path, |servers| {
        servers.shift_remove(name.as_str()).is_some()
    })
    .await?;
    access
        .audit("mcp.remove", "opencode.json", format!("Removed MCP {name}"))
        .await;
    if removed {
        access.reload(
            ReloadReason::Mcp,
            Some(ReloadTrigger::new("mcp", Some(name), "removed", None)),
        );
    }
    let items = mcp_items(&access.state, &access.workspace)?;
    Ok(Json(json!({ "items": items })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_counts_as_sent_when_javascript_finds_it_truthy() {
        for falsy in [json!(null), json!(false), json!(0), json!("")] {
            assert!(!truthy(&falsy), "{falsy}");
        }
        for sent in [json!({}), json!([]), json!("x"), json!(1), json!(true)] {
            assert!(truthy(&sent), "{sent}");
        }
    }
}
