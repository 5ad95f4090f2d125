//! `GET /approvals` and `POST /approvals/:id` (contract §4.20): the host answers pending
//! write requests.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::openapi::schemas::{self, ErrorBody};
use crate::auth::extract::HostAuth;
use crate::error::ApiError;
use crate::pipeline::extract::{JsonObject, PathParams};
use crate::state::AppState;

/// Pending requests, oldest first.
#[utoipa::path(
    get,
    path = "/approvals",
    summary = "List pending write requests",
    tag = "approvals",
    security(("hostToken" = []), ("bearer" = ["owner"])),
    responses((status = 200, description = "Pending requests, oldest first", body = schemas::server::ApprovalList)),
)]
pub(super) async fn list_approvals(State(state): State<AppState>, _host: HostAuth) -> Json<Value> {
    Json(json!({ "items": state.approvals.pending() }))
}

/// Answers a request: exactly `"allow"` allows, anything else denies.
#[utoipa::path(
    post,
    path = "/approvals/{id}",
    summary = "Answer a write request",
    tag = "approvals",
    params(("id" = String, Path, description = "Approval request id")),
    security(("hostToken" = []), ("bearer" = ["owner"])),
    request_body = schemas::server::ApprovalReply,
    responses(
        (status = 200, description = "Answered", body = schemas::server::ApprovalReplied),
        (status = 400, description = "- `invalid_path`: Invalid percent-encoding in path", body = ErrorBody),
        (status = 404, description = "- `approval_not_found`: Approval request not found", body = ErrorBody),
    ),
)]
pub(super) async fn reply_approval(
    State(state): State<AppState>,
    _host: HostAuth,
    PathParams(id): PathParams<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let allowed = body.get("reply").and_then(Value::as_str) == Some("allow");
    if !state.approvals.respond(&id, allowed) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "approval_not_found",
            "Approval request not found",
        ));
    }
    Ok(Json(json!({ "ok": true, "allowed": allowed })))
}
