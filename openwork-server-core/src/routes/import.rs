//! `POST /workspace/:id/import` (contract §7.2, D4, D5): writes an export back into a
//! workspace. Every check that needs no write — portable file paths first, then the
//! existing config files, skills and commands — runs before the operator is asked; after
//! approval the complete change set is rebuilt under the files' locks and applied all or
//! nothing (see `resources::portable::changeset` for the exact guarantee).

use axum::Json;
use serde_json::{Value, json};

use super::config::config_trigger;
use super::guard::WriteAccess;
use super::openapi::params::WorkspaceId;
use super::openapi::schemas::{self, ErrorBody};
use crate::error::ApiError;
use crate::events::ReloadReason;
use crate::pipeline::extract::JsonObject;
use crate::resources::portable::changeset::ChangeSet;
use crate::resources::portable::import::ImportRequest;
use crate::state::AppState;
use crate::workspace::Workspace;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import_workspace))
}

/// Plans the import against the workspace as it is now, off the async threads.
async fn plan(request: &ImportRequest, ws: &Workspace) -> Result<ChangeSet, ApiError> {
    let (request, ws) = (request.clone(), ws.clone());
    tokio::task::spawn_blocking(move || request.plan(&ws))
        .await
        .map_err(ApiError::internal)?
}

/// Validates the whole import, asks for approval, then applies it all or nothing.
#[utoipa::path(
    post,
    path = "/workspace/{id}/import",
    summary = "Import a workspace setup",
    tag = "portable",
    params(WorkspaceId),
    security(("bearer" = ["collaborator"])),
    extensions(
        ("x-openwork-access" = json!("workspace-write")),
        ("x-openwork-approval" = json!("config.import")),
    ),
    request_body = schemas::workspace::WorkspaceImport,
    responses(
        (status = 200, description = "Imported, all or nothing (D5)", body = schemas::Ok),
        (status = 400, description = "- `invalid_portable_file`: Portable files must be objects with path and content\n- `invalid_portable_file_path`: Portable file path is invalid: <path> | Portable file path is not allowed: <path>\n- `invalid_skill_name`, `invalid_skill_content`: as `POST /workspace/{id}/skills`\n- `invalid_command`: Command name is required | Command frontmatter must be valid YAML\n- `invalid_command_name`, `invalid_command_template`: as `POST /workspace/{id}/commands`\n- `invalid_path`: Path escapes the workspace", body = ErrorBody),
        (status = 500, description = "- `internal_error`: Unexpected server error (a write failed midway, e.g. a file where a folder must go; nothing was changed)", body = ErrorBody),
        (status = 422, description = "- `invalid_description`: Description must be 1-1024 characters\n- `invalid_jsonc`: Failed to parse JSONC (details: `[{code, offset, length}]`)\n- `invalid_json`: Failed to parse openwork.json", body = ErrorBody),
    ),
)]
pub(super) async fn import_workspace(
    access: WriteAccess,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let ws = access.workspace.clone();
    let request = ImportRequest::parse(&body)?;
    // D4/D5: the full plan is built (and thrown away) before anyone is asked, so every
    // invalid item is reported without a prompt and nothing is half-written later.
    let draft = plan(&request, &ws).await?;
    let lock_paths = tokio::task::spawn_blocking(move || draft.touched_files())
        .await
        .map_err(ApiError::internal)?;
    access
        .approve(
            "config.import",
            "Import workspace config",
            request.approval_paths(&ws),
        )
        .await?;

    let state = &access.state;
    let mut guards = Vec::with_capacity(lock_paths.len());
    // Sorted order, so two imports never wait on each other's locks.
    for path in &lock_paths {
        guards.push(state.file_locks.lock(path).await);
    }
    // The files may have changed while the operator decided: plan again from what is
    // on disk now, under the locks.
    let changes = plan(&request, &ws).await?;
    tokio::task::spawn_blocking(move || changes.apply())
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    drop(guards);

    access
        .audit("config.import", "workspace", "Imported workspace config")
        .await;
    access.reload(
        ReloadReason::Config,
        Some(config_trigger(&ws.project_config_path())),
    );
    Ok(Json(json!({ "ok": true })))
}
