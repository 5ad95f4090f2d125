//! Artifacts, the workspace outbox (contract §8.3): `GET /workspace/:id/artifacts` and
//! `GET /workspace/:id/artifacts/:artifactId`. There is no write API: the agent writes
//! into `.opencode/openwork/outbox/` directly.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::guard::ReadAccess;
use crate::config::Switches;
use crate::error::ApiError;
use crate::files::drop_box::{self, DownloadError, DropBox};
use crate::pipeline::extract::PathParams;
use crate::state::AppState;

/// This resource's routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/workspace/{id}/artifacts", get(list_artifacts))
        .route(
            "/workspace/{id}/artifacts/{artifact_id}",
            get(download_artifact),
        )
}

fn outbox_enabled(state: &AppState) -> bool {
    Switches::read(&state.env).outbox_enabled
}

/// `{"items":[{"id","path","size","updatedAt"}]}`, newest first; `{"items":[]}` when the
/// outbox is disabled or missing.
async fn list_artifacts(
    State(state): State<AppState>,
    access: ReadAccess,
) -> Result<Json<Value>, ApiError> {
    if !outbox_enabled(&state) {
        return Ok(Json(json!({ "items": [] })));
    }
    let workspace_root = access.workspace.root().to_path_buf();
    let root = DropBox::Outbox.root(&access.workspace);
    let items = tokio::task::spawn_blocking(move || drop_box::list(&workspace_root, &root))
        .await
        .map_err(ApiError::internal)?;
    let items: Vec<Value> = items.iter().map(|item| item.to_json(false)).collect();
    Ok(Json(json!({ "items": items })))
}

/// The artifact's bytes as an attachment.
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
