//! `GET /workspace/:id/audit[?limit=N]` (contract §4.12): the newest audit entries first.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::guard::ReadAccess;
use crate::audit::read_limit;
use crate::state::AppState;

/// `?limit=N`.
#[derive(Debug, Deserialize)]
pub(super) struct LimitQuery {
    limit: Option<String>,
}

/// Up to `limit` (default 50, at most 200) entries, newest first.
pub(super) async fn list_audit(
    State(state): State<AppState>,
    access: ReadAccess,
    Query(query): Query<LimitQuery>,
) -> Json<Value> {
    let items = state
        .audit
        .recent(&access.workspace, read_limit(query.limit.as_deref()))
        .await;
    Json(json!({ "items": items }))
}
