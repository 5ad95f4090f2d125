//! Artifacts, the workspace outbox (contract §8.3): `GET /workspace/:id/artifacts` and
//! `GET /workspace/:id/artifacts/:artifactId`. There is no write API: the agent writes
//! into `.opencode/openwork/outbox/` directly.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::guard::ReadAccess;
use super::openapi::params::WorkspaceId;
use super::openapi::schemas::{self, ErrorBody};
use crate::config::Switches;
use crate::error::ApiError;
use crate::files::drop_box::{self, DownloadError, DropBox};
use crate::pipeline::extract::PathParams;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_artifacts))
        .routes(routes!(download_artifact))
}

fn outbox_enabled(state: &AppState) -> bool {
    Switches::read(&state.env).outbox_enabled
}

/// `{"items":[{"id","path","size","updatedAt"}]}`, newest first; `{"items":[]}` when the
/// outbox is disabled or missing.
#[utoipa::path(
    get,
    path = "/workspace/{id}/artifacts",
    summary = "List the outbox",
    tag = "artifacts",
    params(WorkspaceId),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses((status = 200, description = "Files in the outbox, newest first", body = schemas::files::ArtifactList)),
)]
async fn list_artifacts(
    State(state): State<AppState>,
    access: ReadAccess,
) -> Result<Json<Value>, ApiError> {
    if !outbox_enabled(&state) {
        return Ok(Json(json!({ "items": [] })));
    }
    let items = DropBox::Outbox.list_json(&access.workspace).await?;
    Ok(Json(json!({ "items": items })))
}

/// The artifact's bytes as an attachment.
#[utoipa::path(
    get,
    path = "/workspace/{id}/artifacts/{artifact_id}",
    summary = "Download an artifact",
    tag = "artifacts",
    params(WorkspaceId, ("artifact_id" = String, Path, description = "An `id` from the listing")),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>, headers(
            ("Content-Length" = u64, description = "Size in bytes"),
            ("Content-Disposition" = String, description = "`attachment; filename=\"<name>\"`"),
        )),
        (status = 400, description = "- `invalid_artifact`: Artifact id is required | Artifact id is invalid\n- `invalid_path`: Path is required | Path contains null byte | Path traversal is not allowed | Path must point to a file | Path escapes the workspace", body = ErrorBody),
        (status = 404, description = "- `outbox_disabled`: Workspace outbox is disabled\n- `artifact_not_found`: Artifact not found", body = ErrorBody),
    ),
)]
async fn download_artifact(
    State(state): State<AppState>,
    access: ReadAccess,
    PathParams((_, artifact_id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    if !outbox_enabled(&state) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "outbox_disabled",
            "Workspace outbox is disabled",
        ));
    }
    if artifact_id.trim().is_empty() {
        return Err(invalid_artifact("Artifact id is required"));
    }
    let relative = drop_box::decode_id(&artifact_id)
        .ok_or_else(|| invalid_artifact("Artifact id is invalid"))?;
    drop_box::download(
        access.workspace.root().to_path_buf(),
        DropBox::Outbox.root(&access.workspace),
        relative,
    )
    .await
    .map_err(|error| match error {
        DownloadError::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "artifact_not_found",
            "Artifact not found",
        ),
        DownloadError::Refused(error) => error,
    })
}

fn invalid_artifact(message: &'static str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_artifact", message)
}
