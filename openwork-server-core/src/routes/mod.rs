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
pub(crate) mod openapi;
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
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

/// Every route of the API. How each authenticates is in its handler's signature
/// (`ClientAuth`, `HostAuth`, or neither). Paths are matched exactly: no trailing-slash tolerance, and a
/// wrong method is a 404 like an unknown path. `HEAD` is answered like `GET` (D13).
pub(crate) fn router(state: AppState) -> Router {
    // The document half is dropped here: `/openapi.json` renders its own copy once, lazily.
    let (routes, _document) = api_router().split_for_parts();
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(state)
}

/// The route table with its OpenAPI description. A route exists only if it is registered
/// here through `routes!` from a handler annotated with `#[utoipa::path]`, so registering
/// a route is documenting it. Resource modules export a `router()` built the same way.
pub(crate) fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(openapi::router())
        .routes(routes!(health::get_health))
        .routes(routes!(health::get_mounted_health))
        .routes(routes!(status::get_status))
        .routes(routes!(status::get_workspace_status))
        .routes(routes!(capabilities::get_capabilities))
        .routes(routes!(capabilities::get_mounted_capabilities))
        .routes(routes!(status::get_whoami))
        .routes(routes!(workspaces::list_workspaces))
        .routes(routes!(workspaces::list_mounted_workspace))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(config::get_config, config::patch_config))
        .routes(routes!(
            config::get_opencode_config,
            config::write_opencode_config
        ))
        .routes(routes!(events::get_events))
        .routes(routes!(audit::list_audit))
        .routes(routes!(approvals::list_approvals))
        .routes(routes!(approvals::reply_approval))
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
