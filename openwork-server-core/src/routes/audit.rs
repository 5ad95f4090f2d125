//! `GET /workspace/:id/audit[?limit=N]` (contract §4.12): the newest audit entries first.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::guard::ReadAccess;
use super::openapi::params::WorkspaceId;
use super::openapi::schemas;
use crate::audit::read_limit;
use crate::pipeline::extract::FirstQuery;
use crate::state::AppState;
use utoipa::IntoParams;

/// `?limit=N`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct LimitQuery {
    /// Entries to return: a positive number, at most 200 (default 50).
    #[param(value_type = Option<u32>)]
    limit: Option<String>,
}

/// Up to `limit` (default 50, at most 200) entries, newest first.
#[utoipa::path(
    get,
    path = "/workspace/{id}/audit",
    summary = "Read the audit log",
    tag = "audit",
    params(WorkspaceId, LimitQuery),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses((status = 200, description = "Audit entries, newest first", body = schemas::workspace::AuditList)),
)]
pub(super) async fn list_audit(
    State(state): State<AppState>,
    access: ReadAccess,
    FirstQuery(query): FirstQuery<LimitQuery>,
) -> Json<Value> {
    let items = state
        .audit
        .recent(&access.workspace, read_limit(query.limit.as_deref()))
        .await;
    Json(json!({ "items": items }))
}
