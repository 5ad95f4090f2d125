//! The route table. Each resource module exports its handlers; this file says, for every
//! path, which handler serves it and how the route authenticates, so it reads like the
//! contract's summary table (§4.A).

mod approvals;
mod capabilities;
mod health;
mod status;
mod tokens;
mod workspaces;

use axum::Router;
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};

use crate::error::ApiError;
use crate::pipeline::AuthMode;
use crate::state::AppState;

/// Tags a route's responses with its auth mode for the request log.
fn auth(mode: AuthMode, route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.layer(map_response(move |mut response: Response| async move {
        response.extensions_mut().insert(mode);
        response
    }))
}

use AuthMode::{Client, Host, None as Open};

/// Every route of the API. Paths are matched exactly: no trailing-slash tolerance, and a
/// wrong method is a 404 like an unknown path. `HEAD` is answered like `GET` (D13).
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", auth(Open, get(health::get_health)))
        .route("/w/{id}/health", auth(Open, get(health::get_health)))
        .route("/status", auth(Client, get(status::get_status)))
        .route(
            "/w/{id}/status",
            auth(Client, get(status::get_workspace_status)),
        )
        .route(
            "/capabilities",
            auth(Client, get(capabilities::get_capabilities)),
        )
        .route(
            "/w/{id}/capabilities",
            auth(Client, get(capabilities::get_capabilities)),
        )
        .route("/whoami", auth(Client, get(status::get_whoami)))
        .route(
            "/workspaces",
            auth(Client, get(workspaces::list_workspaces)),
        )
        .route(
            "/w/{id}/workspaces",
            auth(Client, get(workspaces::list_mounted_workspace)),
        )
        .route(
            "/tokens",
            auth(Host, get(tokens::list_tokens).post(tokens::create_token)),
        )
        .route(
            "/tokens/{id}",
            auth(Host, axum::routing::delete(tokens::revoke_token)),
        )
        .route("/approvals", auth(Host, get(approvals::list_approvals)))
        .route(
            "/approvals/{id}",
            auth(Host, post(approvals::reply_approval)),
        )
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
