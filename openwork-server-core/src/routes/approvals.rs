//! `GET /approvals` and `POST /approvals/:id` (contract §4.20): the host answers pending
//! write requests.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::auth::extract::HostAuth;
use crate::error::ApiError;
use crate::pipeline::extract::{JsonObject, PathParams};
use crate::state::AppState;

/// Pending requests, oldest first.
pub(super) async fn list_approvals(State(state): State<AppState>, _host: HostAuth) -> Json<Value> {
    Json(json!({ "items": state.approvals.pending() }))
}

/// Answers a request: exactly `"allow"` allows, anything else denies.
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
