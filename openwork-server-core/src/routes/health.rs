//! `GET /health`: liveness without auth (contract §4.1).

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::VERSION;
use crate::state::AppState;

/// The health answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Health {
    ok: bool,
    version: &'static str,
    uptime_ms: u64,
}

/// `200 {"ok":true,"version","uptimeMs"}`; the mounted form does not check the id.
pub(super) async fn get_health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        ok: true,
        version: VERSION,
        uptime_ms: state.uptime_ms(),
    })
}
