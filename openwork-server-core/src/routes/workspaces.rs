//! `GET /workspaces` and `GET /w/:id/workspaces` (contract §4.5).
//!
//! SECURITY (D2): viewer tokens get the workspaces without OpenCode credentials and
//! `openworkToken`; collaborators and owners need them to reach OpenCode.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::openapi::params::WorkspaceId;
use super::openapi::schemas;
use crate::auth::Scope;
use crate::auth::extract::ClientAuth;
use crate::error::ApiError;
use crate::pipeline::extract::PathParams;
use crate::state::AppState;

/// All workspaces; `items` and `workspaces` carry the same list.
#[utoipa::path(
    get,
    path = "/workspaces",
    summary = "List workspaces",
    tag = "workspaces",
    security(("bearer" = ["viewer"])),
    responses((status = 200, description = "All workspaces, the active one first; viewers get no credentials (D2)", body = schemas::server::WorkspaceList)),
)]
pub(super) async fn list_workspaces(
    State(state): State<AppState>,
    ClientAuth(actor): ClientAuth,
) -> Json<Value> {
    let show_secrets = actor.scope > Scope::Viewer;
    let list = state.workspaces();
    let items: Vec<Value> = list
        .items
        .iter()
        .map(|ws| ws.to_json(show_secrets))
        .collect();
    Json(json!({
        "items": items,
        "workspaces": items,
        "activeId": list.items.first().map(|ws| ws.id.clone()),
    }))
}

/// The mounted workspace alone (no `workspaces` key).
#[utoipa::path(
    get,
    path = "/w/{id}/workspaces",
    summary = "The mounted workspace",
    tag = "workspaces",
    params(WorkspaceId),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses((status = 200, description = "The mounted workspace", body = schemas::server::MountedWorkspaceList)),
)]
pub(super) async fn list_mounted_workspace(
    State(state): State<AppState>,
    ClientAuth(actor): ClientAuth,
    PathParams(id): PathParams<String>,
) -> Result<Json<Value>, ApiError> {
    let workspace = state.resolve_workspace(&id)?;
    Ok(Json(json!({
        "items": [workspace.to_json(actor.scope > Scope::Viewer)],
        "activeId": workspace.id,
    })))
}
