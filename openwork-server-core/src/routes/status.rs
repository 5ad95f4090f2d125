//! `GET /status`, `GET /w/:id/status` and `GET /whoami` (contract §4.2, §4.4).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::openapi::params::WorkspaceId;
use super::openapi::schemas;
use crate::VERSION;
use crate::auth::Scope;
use crate::auth::extract::ClientAuth;
use crate::error::ApiError;
use crate::pipeline::extract::PathParams;
use crate::state::AppState;
use crate::workspace::Workspace;

fn status_body(
    state: &AppState,
    workspace: Option<&Workspace>,
    workspace_count: usize,
    show_secrets: bool,
) -> Value {
    let config = &state.config;
    json!({
        "ok": true,
        "version": VERSION,
        "uptimeMs": state.uptime_ms(),
        "readOnly": config.read_only,
        "approval": {
            "mode": config.approval.mode.as_str(),
            "timeoutMs": config.approval.timeout_ms,
        },
        "corsOrigins": config.cors_origins,
        "workspaceCount": workspace_count,
        "activeWorkspaceId": workspace.map(|ws| ws.id.clone()),
        "workspace": workspace.map(|ws| ws.to_json(show_secrets)),
        "authorizedRoots": state.workspaces().authorized_roots,
        "server": {
            "host": config.host,
            "port": config.port,
            "configPath": config.config_path.to_string_lossy(),
        },
        "tokenSource": {
            "client": config.token_source.as_str(),
            "host": config.host_token_source.as_str(),
        },
    })
}

/// The server's state and its active workspace.
#[utoipa::path(
    get,
    path = "/status",
    summary = "Server state",
    tag = "status",
    security(("bearer" = ["viewer"])),
    responses((status = 200, description = "Server state; viewers get no OpenCode credentials (D2)", body = schemas::server::Status)),
)]
pub(super) async fn get_status(
    State(state): State<AppState>,
    ClientAuth(actor): ClientAuth,
) -> Json<Value> {
    let list = state.workspaces();
    let body = status_body(
        &state,
        list.items.first(),
        list.items.len(),
        actor.scope > Scope::Viewer,
    );
    Json(body)
}

/// The same shape for one workspace.
#[utoipa::path(
    get,
    path = "/w/{id}/status",
    summary = "Server state for one workspace",
    tag = "status",
    params(WorkspaceId),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses((status = 200, description = "Server state for this workspace", body = schemas::server::Status)),
)]
pub(super) async fn get_workspace_status(
    State(state): State<AppState>,
    ClientAuth(actor): ClientAuth,
    PathParams(id): PathParams<String>,
) -> Result<Json<Value>, ApiError> {
    let workspace = state.resolve_workspace(&id)?;
    Ok(Json(status_body(
        &state,
        Some(&workspace),
        1,
        actor.scope > Scope::Viewer,
    )))
}

/// The caller as the server sees it.
#[utoipa::path(
    get,
    path = "/whoami",
    summary = "The caller",
    tag = "status",
    security(("bearer" = ["viewer"])),
    responses((status = 200, description = "The caller", body = schemas::server::Whoami)),
)]
pub(super) async fn get_whoami(ClientAuth(actor): ClientAuth) -> Json<Value> {
    Json(json!({ "ok": true, "actor": actor }))
}
