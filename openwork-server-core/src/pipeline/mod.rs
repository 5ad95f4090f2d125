//! The request pipeline of contract §4.0, around the route table: request log (outermost),
//! CORS on every response, `OPTIONS` preflight on any path, the `/w/:id/` mount rewrite,
//! then routing with JSON 404s.

mod cors;
pub(crate) mod extract;
mod log;
mod mount;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};

pub(crate) use log::AuthMode;

use crate::routes;
use crate::state::AppState;

/// The whole application as one router.
pub(crate) fn app(state: AppState) -> Router {
    let api = routes::router(state.clone());
    // The mount rewrite must run before the route table matches, so the table sits behind
    // an outer router whose only route is this fallback.
    Router::new()
        .fallback_service(api)
        .layer(from_fn(mount::rewrite_mounted))
        .layer(from_fn(cors::preflight))
        .layer(from_fn_with_state(state.clone(), cors::cors))
        .layer(from_fn_with_state(state, log::log_request))
}
