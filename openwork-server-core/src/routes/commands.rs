//! Commands (contract §4.11): `GET /workspace/:id/commands[?scope=global]`,
//! `POST /workspace/:id/commands` and `DELETE /workspace/:id/commands/:name`.
//!
//! Writes validate everything first and ask for approval only then (D4). Listing the
//! workspace's commands also repairs legacy files whose frontmatter says `model: null`
//! (when the server is writable), as the reference does.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

use super::guard::WriteAccess;
use super::openapi::params::WorkspaceId;
use super::openapi::schemas::{self, ErrorBody};
use super::skills::query_param;
use crate::auth::extract::{ClientAuth, HostAuth};
use crate::error::ApiError;
use crate::events::{ReloadReason, ReloadTrigger};
use crate::fs::confine::ensure_inside;
use crate::pipeline::extract::{JsonObject, PathParams};
use crate::resources::commands::{
    CommandInput, CommandItem, command_file, command_path, commands_dir, global_commands_dir,
    repaired, sanitize_name, scan, validate_name,
};
use crate::state::AppState;
use crate::workspace::Workspace;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_commands, upsert_command))
        .routes(routes!(delete_command))
}

/// Access for listing: any bearer; `?scope=global` also needs the host (host token header
/// or an owner bearer), checked before the workspace is looked up, as in the reference.
pub(super) struct ListAccess {
    workspace: Workspace,
    global: bool,
}

impl FromRequestParts<AppState> for ListAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        ClientAuth::from_request_parts(parts, state).await?;
        let global = query_param(&parts.uri, "scope").as_deref() == Some("global");
        if global {
            // SECURITY: the global folder is the host user's, not the workspace's.
            HostAuth::from_request_parts(parts, state).await?;
        }
        let PathParams(id) = PathParams::<String>::from_request_parts(parts, state).await?;
        let workspace = state.resolve_workspace(&id)?;
        Ok(Self { workspace, global })
    }
}

/// Rewrites one legacy `model: null` file under its lock; a failure is logged, never
/// answered (the listing stays available).
async fn repair_file(state: &AppState, path: PathBuf) {
    let _lock = state.file_locks.lock(&path).await;
    let Ok(bytes) = tokio::fs::read(&path).await else {
        return;
    };
    let Some(text) = repaired(&String::from_utf8_lossy(&bytes)) else {
        return;
    };
    if let Err(error) = super::guard::write_file(path.clone(), text.into_bytes()).await {
        tracing::warn!(path = %path.display(), "could not repair command file: {error}");
    }
}

/// The workspace's commands, repairing legacy files when the server is writable.
async fn workspace_commands(
    state: &AppState,
    workspace: &Workspace,
) -> Result<Vec<CommandItem>, ApiError> {
    let root = workspace.root().to_path_buf();
    let dir = commands_dir(workspace);
    let listing = tokio::task::spawn_blocking(move || {
        // SECURITY (D1): a commands folder linked out of the workspace is not read.
        ensure_inside(&root, &dir).map(|()| scan(&dir, "workspace"))
    })
    .await
    .map_err(ApiError::internal)?
    .unwrap_or_default();
    if !state.config.read_only {
        for path in listing.legacy {
            repair_file(state, path).await;
        }
    }
    Ok(listing.items)
}

async fn global_commands(home: &Path) -> Result<Vec<CommandItem>, ApiError> {
    let dir = global_commands_dir(home);
    tokio::task::spawn_blocking(move || scan(&dir, "global").items)
        .await
        .map_err(ApiError::internal)
}

/// `{"items":[CommandItem]}` of the workspace, or of the user's global folder.
#[utoipa::path(
    get,
    path = "/workspace/{id}/commands",
    summary = "List commands",
    tag = "commands",
    params(
        WorkspaceId,
        ("scope" = Option<String>, Query, description = "`global` (exactly) lists the host user's commands instead; it also needs the host token or an owner bearer"),
    ),
    security(("bearer" = ["viewer"]), ("bearer" = ["viewer"], "hostToken" = [])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses(
        (status = 200, description = "Commands", body = schemas::workspace::CommandList),
        (status = 401, description = "- `unauthorized`: Invalid host token (`scope=global` without host credentials)", body = ErrorBody),
    ),
)]
pub(super) async fn list_commands(
    State(state): State<AppState>,
    access: ListAccess,
) -> Result<Json<Value>, ApiError> {
    let items = if access.global {
        global_commands(&state.home()).await?
    } else {
        workspace_commands(&state, &access.workspace).await?
    };
    Ok(Json(json!({ "items": items })))
}

/// Writes `<ws>/.opencode/commands/<name>.md` after approval; answers the new listing.
#[utoipa::path(
    post,
    path = "/workspace/{id}/commands",
    summary = "Create or replace a command",
    tag = "commands",
    params(WorkspaceId),
    security(("bearer" = ["collaborator"])),
    extensions(
        ("x-openwork-access" = json!("workspace-write")),
        ("x-openwork-approval" = json!("commands.upsert")),
    ),
    request_body = schemas::workspace::CommandUpsert,
    responses(
        (status = 200, description = "The workspace's commands afterwards", body = schemas::workspace::CommandList),
        (status = 400, description = "- `invalid_command_template`: Command template is required\n- `invalid_command_name`: Command name must be alphanumeric with _ or -\n- `invalid_path`: Path escapes the workspace", body = ErrorBody),
    ),
)]
pub(super) async fn upsert_command(
    access: WriteAccess,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let input = CommandInput::from_body(&body);
    // D4: every check that needs no write runs before the operator is asked.
    let (name, text) = command_file(&input)?;
    let root = access.workspace.root();
    let path = command_path(&commands_dir(&access.workspace), &name);
    ensure_inside(root, &path)?;
    let shown = path.to_string_lossy().into_owned();
    access
        .approve(
            "commands.upsert",
            format!("Upsert command {}", input.name),
            vec![shown.clone()],
        )
        .await?;
    {
        let _lock = access.state.file_locks.lock(&path).await;
        ensure_inside(root, &path)?;
        access.write_file(&path, text).await?;
    }
    access
        .audit(
            "commands.upsert",
            shown.clone(),
            format!("Upserted command {}", input.name),
        )
        .await;
    access.reload(
        ReloadReason::Commands,
        Some(ReloadTrigger::new(
            "command",
            Some(name),
            "updated",
            Some(shown),
        )),
    );
    let items = workspace_commands(&access.state, &access.workspace).await?;
    Ok(Json(json!({ "items": items })))
}

/// Deletes `<ws>/.opencode/commands/<name>.md` after approval; a missing file is fine.
#[utoipa::path(
    delete,
    path = "/workspace/{id}/commands/{name}",
    summary = "Delete a command",
    tag = "commands",
    params(WorkspaceId, ("name" = String, Path, description = "Command name (leading `/` stripped)")),
    security(("bearer" = ["collaborator"])),
    extensions(
        ("x-openwork-access" = json!("workspace-write")),
        ("x-openwork-approval" = json!("commands.delete")),
    ),
    responses(
        (status = 200, description = "Deleted (or was not there)", body = schemas::Ok),
        (status = 400, description = "- `invalid_command_name`: Command name must be alphanumeric with _ or -\n- `invalid_path`: Path escapes the workspace", body = ErrorBody),
    ),
)]
pub(super) async fn delete_command(
    access: WriteAccess,
    PathParams((_, raw_name)): PathParams<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let name = sanitize_name(&raw_name);
    // SECURITY: the name pattern keeps it one plain file name (no `/`, `.` or `..`).
    validate_name(&name)?;
    let root = access.workspace.root();
    let dir = commands_dir(&access.workspace);
    let path = command_path(&dir, &name);
    ensure_inside(root, &path)?;
    let shown = path.to_string_lossy().into_owned();
    access
        .approve(
            "commands.delete",
            format!("Delete command {raw_name}"),
            vec![shown.clone()],
        )
        .await?;
    {
        let _lock = access.state.file_locks.lock(&path).await;
        ensure_inside(root, &path)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ApiError::internal(e)),
        }
    }
    access
        .audit(
            "commands.delete",
            dir.to_string_lossy().into_owned(),
            format!("Deleted command {raw_name}"),
        )
        .await;
    access.reload(
        ReloadReason::Commands,
        Some(ReloadTrigger::new(
            "command",
            Some(name),
            "removed",
            Some(shown),
        )),
    );
    Ok(Json(json!({ "ok": true })))
}
