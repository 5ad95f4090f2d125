//! `GET /health`: liveness without auth (contract §4.1).

use axum::Json;
use serde_json::{Value, json};

use crate::VERSION;
use crate::state::AppState;

/// `200 {"ok":true,"version","uptimeMs"}`; the mounted form does not check the id.
pub(super) async fn get_health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Json<Value> {
    Json(json!({ "ok": true, "version": VERSION, "uptimeMs": state.uptime_ms() }))
}
