//! Path parameters shared by many routes.

// Documentation-only shapes: never built, never read.
#![allow(dead_code)]

use utoipa::IntoParams;

/// `{id}` of `/workspace/{id}/…` and `/w/{id}/…`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct WorkspaceId {
    /// Workspace id (`ws_` + 12 hex characters of the path's SHA-256, or the configured id).
    id: String,
}

/// `{session_id}` of `/files/sessions/{session_id}/…`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct FileSessionId {
    /// File session id, from `POST /workspace/{id}/files/sessions`.
    session_id: String,
}
