//! The route table. Each resource module exports its handlers; this file says, for every
//! path, which handler serves it and how the route authenticates, so it reads like the
//! contract's summary table (§4.A).

mod approvals;
mod artifacts;
mod audit;
mod capabilities;
mod commands;
mod config;
mod engine;
mod events;
mod export;
mod file_sessions;
mod files_content;
pub(crate) mod guard;
mod health;
mod import;
mod inbox;
mod mcp;
mod plugins;
mod proxy;
mod runtime;
mod sessions;
mod skills;
mod status;
mod tokens;
mod ui;
mod workspace_admin;
mod workspaces;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use crate::error::ApiError;
use crate::state::AppState;

/// Every route of the API. How each authenticates is in its handler's signature
/// (`ClientAuth`, `HostAuth`, or neither). Paths are matched exactly: no trailing-slash tolerance, and a
/// wrong method is a 404 like an unknown path. `HEAD` is answered like `GET` (D13).
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::get_health))
        .route("/w/{id}/health", get(health::get_health))
        .route("/status", get(status::get_status))
        .route("/w/{id}/status", get(status::get_workspace_status))
        .route("/capabilities", get(capabilities::get_capabilities))
        .route("/w/{id}/capabilities", get(capabilities::get_capabilities))
        .route("/whoami", get(status::get_whoami))
        .route("/workspaces", get(workspaces::list_workspaces))
        .route(
            "/w/{id}/workspaces",
            get(workspaces::list_mounted_workspace),
        )
        .route(
            "/tokens",
            get(tokens::list_tokens).post(tokens::create_token),
        )
        .route("/tokens/{id}", delete(tokens::revoke_token))
        .route(
            "/workspace/{id}/config",
            get(config::get_config).patch(config::patch_config),
        )
        .route(
            "/workspace/{id}/opencode-config",
            get(config::get_opencode_config).post(config::write_opencode_config),
        )
        .route("/workspace/{id}/events", get(events::get_events))
        .route("/workspace/{id}/audit", get(audit::list_audit))
        .route("/approvals", get(approvals::list_approvals))
        .route("/approvals/{id}", post(approvals::reply_approval))
        .merge(plugins::router())
        .merge(skills::router())
        .merge(mcp::router())
        .merge(commands::router())
        .merge(engine::router())
        .merge(export::router())
        .merge(import::router())
        .merge(workspace_admin::router())
        .merge(inbox::router())
        .merge(artifacts::router())
        .merge(file_sessions::router())
        .merge(files_content::router())
        .merge(sessions::router())
        .merge(proxy::router())
        .merge(ui::router())
        .merge(runtime::router())
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(state)
}

async fn not_found() -> Response {
    ApiError::not_found().into_response()
}

/// `403 read_only` when the server refuses writes.
pub(crate) fn ensure_writable(state: &AppState) -> Result<(), ApiError> {
    if state.config.read_only {
        return Err(ApiError::read_only());
    }
    Ok(())
}
