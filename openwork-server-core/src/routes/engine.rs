//! `POST /workspace/:id/engine/reload` (contract §4.14): asks the workspace's OpenCode to
//! dispose its instance, so it loads config, plugins, skills and MCP servers afresh.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::openapi::errors;
use super::openapi::params::WorkspaceId;
use super::openapi::schemas::{self, ErrorBody};
use crate::auth::Scope;
use crate::auth::extract::ClientAuth;
use crate::error::ApiError;
use crate::opencode::{OpencodeConnection, OpencodeError};
use crate::pipeline::extract::PathParams;
use crate::state::{AppState, now_ms};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(reload_engine))
}

/// The contract's answer for each way a reload can fail.
fn reload_error(error: OpencodeError) -> ApiError {
    match error {
        configuration @ (OpencodeError::Unconfigured | OpencodeError::InvalidUrl) => {
            configuration.configuration_error()
        }
        OpencodeError::Status { status, body } => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "opencode_reload_failed",
            "OpenCode reload failed",
        )
        .with_details(json!({ "status": status, "body": body })),
        // As in the reference, a connection failure is an internal error; the cause is
        // logged, never shown.
        unreachable @ OpencodeError::Unreachable(_) => ApiError::internal(unreachable),
    }
}

/// Reloads the workspace's OpenCode. Not approval-gated and allowed in read-only mode: it
/// changes no file, only makes OpenCode re-read the ones it has.
#[utoipa::path(
    post,
    path = "/workspace/{id}/engine/reload",
    summary = "Reload the workspace's OpenCode",
    tag = "engine",
    params(WorkspaceId),
    security(("bearer" = ["collaborator"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses(
        (status = 200, description = "OpenCode disposed its instance", body = schemas::workspace::EngineReloaded),
        (status = 400, description = errors::OPENCODE_UNCONFIGURED, body = ErrorBody),
        (status = 403, description = "- `forbidden`: Insufficient token scope (details: `required`, `scope`)", body = ErrorBody),
        (status = 500, description = "- `internal_error`: Unexpected server error (OpenCode unreachable, as in the reference)", body = ErrorBody),
        (status = 502, description = "- `opencode_reload_failed`: OpenCode reload failed (details: `status`, `body`)", body = ErrorBody),
    ),
)]
async fn reload_engine(
    State(state): State<AppState>,
    ClientAuth(actor): ClientAuth,
    PathParams(id): PathParams<String>,
) -> Result<Json<Value>, ApiError> {
    // This route looks the workspace up before checking the scope (a viewer gets 404 for
    // an unknown workspace, not 403), as the reference does.
    let workspace = state.resolve_workspace(&id)?;
    actor.require(Scope::Collaborator)?;
    OpencodeConnection::for_workspace(&workspace, &state.config.opencode)
        .dispose_instance(workspace.opencode_directory())
        .await
        .map_err(reload_error)?;
    let target = workspace
        .config
        .base_url
        .clone()
        .unwrap_or_else(|| "opencode".to_owned());
    state
        .audit
        .record(
            &workspace,
            &actor,
            "engine.reload",
            target,
            "Reloaded workspace engine".to_owned(),
        )
        .await;
    Ok(Json(json!({ "ok": true, "reloadedAt": now_ms() })))
}
