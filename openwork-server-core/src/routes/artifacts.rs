//! Routes of this resource; see the contract section named in the route table.

use axum::Router;

use crate::state::AppState;

/// This resource's routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
}
