//! Workspace management for the host (contract Appendix A): add a local folder as a
//! workspace, rename, activate and remove workspaces.
//!
//! These routes take the host token or an owner bearer and need no approval (§5). Every
//! change replaces the in-memory list as a whole (which also tells the file watcher) and,
//! when `server.json` exists, rewrites its `workspaces` and `authorizedRoots`. The file's
//! lock doubles as the lock of the list, so two changes never interleave and lose one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::ensure_writable;
use super::openapi::schemas::{self, ErrorBody};
use crate::auth::Actor;
use crate::auth::extract::HostAuth;
use crate::error::ApiError;
use crate::fs::paths::{basename, resolve_lexical};
use crate::pipeline::extract::{JsonObject, PathParams};
use crate::resources::server_file;
use crate::resources::starter::{self, DEFAULT_PRESET};
use crate::state::{AppState, WorkspaceList, now_ms};
use crate::workspace::{Workspace, WorkspaceConfig, WorkspaceType};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_local_workspace))
        .routes(routes!(rename_workspace))
        .routes(routes!(activate_workspace))
        .routes(routes!(delete_workspace))
}

/// Every workspace as the host sees it (with the OpenCode credentials).
fn serialize_all(list: &WorkspaceList) -> Vec<Value> {
    list.items.iter().map(|ws| ws.to_json(true)).collect()
}

fn active_id(list: &WorkspaceList) -> Option<String> {
    list.items.first().map(|ws| ws.id.clone())
}

/// A trimmed, non-empty string field of the body.
fn non_blank<'a>(body: &'a JsonObject, key: &str) -> Option<&'a str> {
    body.str(key).map(str::trim).filter(|v| !v.is_empty())
}

/// Writes `list` to `server.json` when it was there, then makes it the live list. Returns
/// whether the file was written. The caller holds the file's lock.
async fn commit(
    state: &AppState,
    file: Option<server_file::ServerFile>,
    list: WorkspaceList,
) -> Result<(bool, WorkspaceList), ApiError> {
    let persisted = match file {
        Some(file) => {
            file.save(&list).await?;
            true
        }
        None => false,
    };
    state.set_workspaces(list.clone());
    Ok((persisted, list))
}

async fn audit(
    state: &AppState,
    workspace: &Workspace,
    actor: &Actor,
    action: &str,
    target: String,
    summary: String,
) {
    state
        .audit
        .record(workspace, actor, action, target, summary)
        .await;
}

/// `POST /workspaces/local`: adds (or moves to the front) the workspace of a local folder,
/// creating the folder and the preset's starter files that are missing.
#[utoipa::path(
    post,
    path = "/workspaces/local",
    summary = "Add a local folder as a workspace",
    tag = "workspaces",
    security(("hostToken" = []), ("bearer" = ["owner"])),
    request_body = schemas::server::CreateLocalWorkspace,
    responses(
        (status = 201, description = "Created (or moved to the front) and made active", body = schemas::server::WorkspacesChanged),
        (status = 400, description = "- `invalid_payload`: folderPath is required | folderPath is not a directory", body = ErrorBody),
        (status = 403, description = "- `read_only`: Server is in read-only mode", body = ErrorBody),
        (status = 422, description = "- `invalid_json`: Failed to parse server config (details: position)", body = ErrorBody),
    ),
)]
async fn create_local_workspace(
    State(state): State<AppState>,
    HostAuth(actor): HostAuth,
    body: Result<JsonObject, ApiError>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    ensure_writable(&state)?;
    let body = body?;
    let Some(folder) = non_blank(&body, "folderPath") else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            "folderPath is required",
        ));
    };
    // As the reference: the default name is the folder's last segment as typed.
    let name = non_blank(&body, "name").unwrap_or_else(|| basename(folder));
    let preset = non_blank(&body, "preset").unwrap_or(DEFAULT_PRESET);
    let cwd = std::env::current_dir()
        .map(|dir| dir.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "/".to_owned());
    let path = resolve_lexical(&cwd, folder);

    let server = &state.config.opencode;
    let inherited = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let workspace = Workspace::from_config(
        WorkspaceConfig {
            path: Some(path.clone()),
            name: Some(name.to_owned()),
            preset: Some(preset.to_owned()),
            workspace_type: Some(WorkspaceType::Local),
            base_url: inherited(&server.base_url),
            opencode_username: inherited(&server.username),
            opencode_password: inherited(&server.password),
            ..WorkspaceConfig::default()
        },
        "/",
    );

    let _list_lock = state.file_locks.lock(&state.config.config_path).await;
    // Read server.json first: a broken file refuses the request before any file is made.
    let file = server_file::load(&state.config.config_path).await?;
    starter::ensure_workspace_files(
        &state.file_locks,
        workspace.root(),
        &workspace.preset,
        now_ms(),
    )
    .await?;

    let current = state.workspaces();
    let mut items = vec![workspace.clone()];
    items.extend(
        current
            .items
            .iter()
            .filter(|ws| ws.id != workspace.id)
            .cloned(),
    );
    let mut authorized_roots = current.authorized_roots.clone();
    if !authorized_roots.contains(&path) {
        authorized_roots.push(path.clone());
    }
    let (persisted, list) = commit(
        &state,
        file,
        WorkspaceList {
            items,
            authorized_roots,
        },
    )
    .await?;

    audit(
        &state,
        &workspace,
        &actor,
        "workspace.create",
        workspace.path.clone(),
        format!("Created workspace {name}"),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "activeId": workspace.id,
            "workspaces": serialize_all(&list),
            "persisted": persisted,
        })),
    ))
}

/// `PATCH /workspaces/:id/display-name`: sets (or, when empty, clears) the display name;
/// a new display name also becomes the name.
#[utoipa::path(
    patch,
    path = "/workspaces/{id}/display-name",
    summary = "Rename a workspace",
    tag = "workspaces",
    params(("id" = String, Path, description = "Workspace id")),
    security(("hostToken" = []), ("bearer" = ["owner"])),
    request_body = schemas::server::RenameWorkspace,
    responses(
        (status = 200, description = "Renamed", body = schemas::server::WorkspacesChanged),
        (status = 400, description = "- `invalid_path`: Invalid percent-encoding in path", body = ErrorBody),
        (status = 403, description = "- `read_only`: Server is in read-only mode\n- `workspace_unauthorized`: Workspace is not authorized", body = ErrorBody),
        (status = 404, description = "- `workspace_not_found`: Workspace not found", body = ErrorBody),
        (status = 422, description = "- `invalid_json`: Failed to parse server config (details: position)", body = ErrorBody),
    ),
)]
async fn rename_workspace(
    State(state): State<AppState>,
    HostAuth(actor): HostAuth,
    PathParams(id): PathParams<String>,
    body: Result<JsonObject, ApiError>,
) -> Result<Json<Value>, ApiError> {
    ensure_writable(&state)?;
    let _list_lock = state.file_locks.lock(&state.config.config_path).await;
    let workspace = state.resolve_workspace(&id)?;
    let body = body?;
    let display_name = non_blank(&body, "displayName").map(str::to_owned);

    let file = server_file::load(&state.config.config_path).await?;
    let current = state.workspaces();
    let items = current
        .items
        .iter()
        .map(|ws| {
            let mut ws = ws.clone();
            if ws.id == workspace.id {
                if let Some(display_name) = &display_name {
                    ws.name.clone_from(display_name);
                    ws.config.name = Some(display_name.clone());
                }
                ws.config.display_name.clone_from(&display_name);
            }
            ws
        })
        .collect();
    let (persisted, list) = commit(
        &state,
        file,
        WorkspaceList {
            items,
            authorized_roots: current.authorized_roots.clone(),
        },
    )
    .await?;

    let summary = match &display_name {
        Some(display_name) => format!("Updated workspace display name to {display_name}"),
        None => "Updated workspace display name".to_owned(),
    };
    audit(
        &state,
        &workspace,
        &actor,
        "workspace.rename",
        workspace.path.clone(),
        summary,
    )
    .await;
    Ok(Json(json!({
        "activeId": active_id(&list),
        "workspaces": serialize_all(&list),
        "persisted": persisted,
    })))
}

/// `POST /workspaces/:id/activate`: moves the workspace to the front, in memory only. It
/// reads no body (Addendum 4) and is allowed in read-only mode.
#[utoipa::path(
    post,
    path = "/workspaces/{id}/activate",
    summary = "Make a workspace the active one",
    tag = "workspaces",
    params(("id" = String, Path, description = "Workspace id")),
    security(("hostToken" = []), ("bearer" = ["owner"])),
    responses(
        (status = 200, description = "Now the active workspace (not persisted)", body = schemas::server::WorkspaceActivated),
        (status = 400, description = "- `invalid_path`: Invalid percent-encoding in path", body = ErrorBody),
        (status = 403, description = "- `workspace_unauthorized`: Workspace is not authorized", body = ErrorBody),
        (status = 404, description = "- `workspace_not_found`: Workspace not found", body = ErrorBody),
    ),
)]
async fn activate_workspace(
    State(state): State<AppState>,
    HostAuth(actor): HostAuth,
    PathParams(id): PathParams<String>,
) -> Result<Json<Value>, ApiError> {
    let _list_lock = state.file_locks.lock(&state.config.config_path).await;
    let workspace = state.resolve_workspace(&id)?;
    let current = state.workspaces();
    let mut items = vec![workspace.clone()];
    items.extend(
        current
            .items
            .iter()
            .filter(|ws| ws.id != workspace.id)
            .cloned(),
    );
    state.set_workspaces(WorkspaceList {
        items,
        authorized_roots: current.authorized_roots.clone(),
    });

    audit(
        &state,
        &workspace,
        &actor,
        "workspace.activate",
        "workspace".to_owned(),
        "Switched active workspace".to_owned(),
    )
    .await;
    Ok(Json(json!({
        "activeId": workspace.id,
        "workspace": workspace.to_json(true),
        "persisted": false,
    })))
}

/// `DELETE /workspaces/:id`: forgets the workspace and its exact authorized root (broader
/// roots stay). The folder and its files are not touched.
#[utoipa::path(
    delete,
    path = "/workspaces/{id}",
    summary = "Remove a workspace",
    tag = "workspaces",
    params(("id" = String, Path, description = "Workspace id")),
    security(("hostToken" = []), ("bearer" = ["owner"])),
    responses(
        (status = 200, description = "Removed from the server (files untouched)", body = schemas::server::WorkspaceDeleted),
        (status = 400, description = "- `invalid_path`: Invalid percent-encoding in path", body = ErrorBody),
        (status = 403, description = "- `read_only`: Server is in read-only mode\n- `workspace_unauthorized`: Workspace is not authorized", body = ErrorBody),
        (status = 404, description = "- `workspace_not_found`: Workspace not found", body = ErrorBody),
        (status = 422, description = "- `invalid_json`: Failed to parse server config (details: position)", body = ErrorBody),
    ),
)]
async fn delete_workspace(
    State(state): State<AppState>,
    HostAuth(actor): HostAuth,
    PathParams(id): PathParams<String>,
) -> Result<Json<Value>, ApiError> {
    ensure_writable(&state)?;
    let _list_lock = state.file_locks.lock(&state.config.config_path).await;
    let workspace = state.resolve_workspace(&id)?;
    let file = server_file::load(&state.config.config_path).await?;
    let current = state.workspaces();
    let items = current
        .items
        .iter()
        .filter(|ws| ws.id != workspace.id)
        .cloned()
        .collect();
    let authorized_roots = current
        .authorized_roots
        .iter()
        .filter(|root| **root != workspace.path)
        .cloned()
        .collect();
    let (persisted, list) = commit(
        &state,
        file,
        WorkspaceList {
            items,
            authorized_roots,
        },
    )
    .await?;

    audit(
        &state,
        &workspace,
        &actor,
        "workspace.delete",
        "workspace".to_owned(),
        "Deleted workspace from OpenWork server".to_owned(),
    )
    .await;
    let items = serialize_all(&list);
    Ok(Json(json!({
        "ok": true,
        "deleted": true,
        "persisted": persisted,
        "activeId": active_id(&list),
        "items": items,
        "workspaces": items,
    })))
}
