//! `GET /health`: liveness without auth (contract §4.1).

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::openapi::params::WorkspaceId;
use super::openapi::schemas;
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

fn health(state: &AppState) -> Json<Health> {
    Json(Health {
        ok: true,
        version: VERSION,
        uptime_ms: state.uptime_ms(),
    })
}

/// `200 {"ok":true,"version","uptimeMs"}`.
#[utoipa::path(
    get,
    path = "/health",
    summary = "Liveness",
    tag = "health",
    responses((status = 200, description = "The server is up", body = schemas::server::Health)),
)]
pub(super) async fn get_health(State(state): State<AppState>) -> Json<Health> {
    health(&state)
}

/// The same under a workspace mount; the id is not checked.
#[utoipa::path(
    get,
    path = "/w/{id}/health",
    summary = "Liveness (workspace mount)",
    tag = "health",
    params(WorkspaceId),
    responses((status = 200, description = "The server is up (any id)", body = schemas::server::Health)),
)]
pub(super) async fn get_mounted_health(State(state): State<AppState>) -> Json<Health> {
    health(&state)
}
