//! File sessions (contract §8.4): open/renew/close a session, page through the live catalog,
//! poll file events, and read, write or rearrange files in batches.
//!
//! Check order: bearer (401) → for writes read-only (403) and scope (403) → body (400) →
//! session (404 / 403 other token) → session workspace (404) → `canWrite` (403) → payload
//! (400, every path normalised and confined, D1) → one approval per request (D4) → work.
//!
//! Falling behind: 500 file events are kept per workspace. A client polling
//! `catalog/events?since=N` has missed events when the first returned `seq` is greater
//! than `N + 1`; it should then take a fresh snapshot. The reference response shape has no
//! room for a flag, so the gap is signalled by the sequence numbers alone.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::PathBuf;

use super::ensure_writable;
use super::guard::WriteAccess;
use super::openapi::errors;
use super::openapi::params::{FileSessionId, WorkspaceId};
use super::openapi::schemas::{self, ErrorBody};
use crate::auth::Scope;
use crate::auth::extract::ClientAuth;
use crate::error::ApiError;
use crate::files::catalog::{Catalog, DEFAULT_LIMIT, MAX_LIMIT, PageQuery};
use crate::files::sessions::{FileSession, SessionError, ttl_ms};
use crate::fs::confine::{normalize_relative, resolve_under};
use crate::pipeline::extract::{FirstQuery, JsonObject, PathParams};
use crate::state::{AppState, now_ms};
use crate::workspace::Workspace;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod batch;
mod ops;

/// Most items in one read-batch, write-batch or ops request.
pub(crate) const MAX_ITEMS: usize = 64;
/// Largest file read or written through a session.
pub(crate) const MAX_FILE_BYTES: u64 = 5_000_000;

/// This resource's routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_file_session))
        .routes(routes!(renew_file_session))
        .routes(routes!(close_file_session))
        .routes(routes!(get_catalog_snapshot))
        .routes(routes!(list_catalog_events))
        .routes(routes!(batch::read_batch))
        .routes(routes!(batch::write_batch))
        .routes(routes!(ops::apply_ops))
}

fn payload_error(message: &'static str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_payload", message)
}

fn session_error(error: SessionError) -> ApiError {
    match error {
        SessionError::NotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "file_session_not_found",
            "File session not found",
        ),
        SessionError::OtherToken => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "File session does not belong to this token",
        ),
    }
}

/// A live session of the caller and its workspace (authorized roots are not re-checked,
/// as in the reference: they were checked when the session was opened).
fn open_session(
    state: &AppState,
    token_hash: &str,
    session_id: &str,
) -> Result<(FileSession, Workspace), ApiError> {
    let session = state
        .file_sessions
        .get(session_id, token_hash)
        .map_err(session_error)?;
    let workspace = state
        .workspaces()
        .items
        .iter()
        .find(|ws| ws.id == session.workspace_id)
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "workspace_not_found",
                "Workspace not found for this file session",
            )
        })?;
    Ok((session, workspace))
}

/// The write pipeline for a writing session request: read-only and scope were checked by
/// the caller; here the session must allow writes.
fn writable_session(
    state: &AppState,
    actor: crate::auth::Actor,
    session_id: &str,
) -> Result<WriteAccess, ApiError> {
    let (session, workspace) = open_session(state, &actor.token_hash, session_id)?;
    if !session.can_write {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "File session is read-only",
        ));
    }
    Ok(WriteAccess {
        state: state.clone(),
        actor,
        workspace,
    })
}

/// A caller allowed to write through a session: a valid bearer (401), a writable server
/// (403 `read_only`) and scope ≥ collaborator (403 `forbidden`), checked before the body
/// is read, in the order of contract §3.3.
pub(crate) struct SessionWriter(pub(crate) crate::auth::Actor);

impl axum::extract::FromRequestParts<AppState> for SessionWriter {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let ClientAuth(actor) = ClientAuth::from_request_parts(parts, state).await?;
        ensure_writable(state)?;
        actor.require(Scope::Collaborator)?;
        Ok(Self(actor))
    }
}

/// The catalog of a workspace, opened (and its build started) on first use.
fn catalog(state: &AppState, workspace: &Workspace) -> std::sync::Arc<Catalog> {
    state.catalogs.open(
        &workspace.id,
        workspace.root().to_path_buf(),
        state.file_events.clone(),
        state.shutdown.clone(),
    )
}

/// A client path normalised (§8.1) and confined to the root after following symlinks
/// (D1). Blocking.
pub(crate) fn confined(root: &std::path::Path, raw: &str) -> Result<(String, PathBuf), ApiError> {
    let rel = normalize_relative(raw, true)?;
    let abs = resolve_under(root, &rel)?;
    Ok((rel, abs))
}

/// `POST /workspace/{id}/files/sessions`.
#[utoipa::path(
    post,
    path = "/workspace/{id}/files/sessions",
    summary = "Open a file session",
    tag = "file-sessions",
    params(WorkspaceId),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    request_body = schemas::files::CreateFileSession,
    responses(
        (status = 200, description = "The session", body = schemas::files::FileSessionEnvelope),
    ),
)]
async fn create_file_session(
    State(state): State<AppState>,
    ClientAuth(actor): ClientAuth,
    PathParams(id): PathParams<String>,
    request: axum::extract::Request,
) -> Result<axum::Json<Value>, ApiError> {
    // The workspace (404/403) is checked before the body (400), as on every workspace route.
    let workspace = state.resolve_workspace(&id)?;
    let JsonObject(body) =
        <JsonObject as axum::extract::FromRequest<AppState>>::from_request(request, &state).await?;
    let can_write = body.get("write") != Some(&Value::Bool(false))
        && !state.config.read_only
        && actor.scope >= Scope::Collaborator;
    let session = state.file_sessions.create(
        &workspace.id,
        &actor.token_hash,
        can_write,
        ttl_ms(body.get("ttlSeconds")),
    );
    // Start indexing now so the first snapshot page does not wait for the walk.
    catalog(&state, &workspace);
    Ok(axum::Json(session.to_json()))
}

/// `POST /files/sessions/{session_id}/renew`.
#[utoipa::path(
    post,
    path = "/files/sessions/{session_id}/renew",
    summary = "Extend a file session",
    tag = "file-sessions",
    params(FileSessionId),
    security(("bearer" = ["viewer"])),
    request_body = schemas::files::RenewFileSession,
    responses(
        (status = 200, description = "The session", body = schemas::files::FileSessionEnvelope),
        (status = 400, description = "- `invalid_path`: Invalid percent-encoding in path", body = ErrorBody),
        (status = 403, description = errors::SESSION_OTHER_TOKEN, body = ErrorBody),
        (status = 404, description = "- `file_session_not_found`: File session not found", body = ErrorBody),
    ),
)]
async fn renew_file_session(
    State(state): State<AppState>,
    ClientAuth(actor): ClientAuth,
    PathParams(session_id): PathParams<String>,
    JsonObject(body): JsonObject,
) -> Result<axum::Json<Value>, ApiError> {
    let session = state
        .file_sessions
        .renew(
            &session_id,
            &actor.token_hash,
            ttl_ms(body.get("ttlSeconds")),
        )
        .map_err(session_error)?;
    Ok(axum::Json(session.to_json()))
}

/// `DELETE /files/sessions/{session_id}`.
#[utoipa::path(
    delete,
    path = "/files/sessions/{session_id}",
    summary = "Close a file session",
    tag = "file-sessions",
    params(FileSessionId),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "Closed", body = schemas::Ok),
        (status = 400, description = "- `invalid_path`: Invalid percent-encoding in path", body = ErrorBody),
        (status = 403, description = errors::SESSION_OTHER_TOKEN, body = ErrorBody),
        (status = 404, description = "- `file_session_not_found`: File session not found", body = ErrorBody),
    ),
)]
async fn close_file_session(
    State(state): State<AppState>,
    ClientAuth(actor): ClientAuth,
    PathParams(session_id): PathParams<String>,
) -> Result<axum::Json<Value>, ApiError> {
    state
        .file_sessions
        .close(&session_id, &actor.token_hash)
        .map_err(session_error)?;
    Ok(axum::Json(json!({"ok": true})))
}

/// `limit`: a positive number → min(floor, 10000), anything else → 2000 (as `Number()`).
fn page_limit(raw: Option<&str>) -> usize {
    match raw.map(str::trim).and_then(|s| s.parse::<f64>().ok()) {
        Some(n) if n > 0.0 => n.floor().min(MAX_LIMIT as f64) as usize,
        _ => DEFAULT_LIMIT,
    }
}

/// An optional normalised path query parameter (empty means absent).
fn path_param(raw: Option<&String>) -> Result<Option<String>, ApiError> {
    match raw.map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => Ok(Some(normalize_relative(raw, true)?)),
    }
}

/// `GET /files/sessions/{session_id}/catalog/snapshot`.
#[utoipa::path(
    get,
    path = "/files/sessions/{session_id}/catalog/snapshot",
    summary = "Page through the workspace's files",
    tag = "file-sessions",
    params(FileSessionId, ("prefix" = Option<String>, Query, description = "Only this path and what is under it"), ("after" = Option<String>, Query, description = "Only paths after this one (the previous page's `nextAfter`)"), ("includeDirs" = Option<String>, Query, description = "`false` (exactly) leaves folders out"), ("limit" = Option<u32>, Query, description = "Page size, at most 10000 (default 2000)")),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "One page of the workspace's files", body = schemas::files::CatalogSnapshot),
        (status = 400, description = "- `invalid_path`: Invalid percent-encoding in path\n- `invalid_path`: Path is required | Path contains null byte | Subdirectories are not allowed | Path traversal is not allowed | Path must point to a file | Path escapes the workspace", body = ErrorBody),
        (status = 403, description = errors::SESSION_OTHER_TOKEN, body = ErrorBody),
        (status = 404, description = errors::SESSION_NOT_FOUND, body = ErrorBody),
    ),
)]
async fn get_catalog_snapshot(
    State(state): State<AppState>,
    ClientAuth(actor): ClientAuth,
    PathParams(session_id): PathParams<String>,
    FirstQuery(params): FirstQuery<HashMap<String, String>>,
) -> Result<axum::response::Response, ApiError> {
    let (session, workspace) = open_session(&state, &actor.token_hash, &session_id)?;
    let query = PageQuery {
        prefix: path_param(params.get("prefix"))?,
        after: path_param(params.get("after"))?,
        include_dirs: params.get("includeDirs").map(String::as_str) != Some("false"),
        limit: page_limit(params.get("limit").map(String::as_str)),
    };
    let catalog = catalog(&state, &workspace);
    catalog.ready().await;
    let cursor = state.file_events.cursor(&workspace.id);
    let page = tokio::task::spawn_blocking(move || catalog.page(&query))
        .await
        .map_err(ApiError::internal)?;
    let truncated = page.items.len() < page.total;
    let mut body = Map::new();
    body.insert("sessionId".into(), session.id.into());
    body.insert("workspaceId".into(), workspace.id.into());
    body.insert("generatedAt".into(), now_ms().into());
    body.insert("cursor".into(), cursor.into());
    body.insert("total".into(), page.total.into());
    body.insert("truncated".into(), truncated.into());
    if truncated && let Some(last) = page.items.last() {
        body.insert("nextAfter".into(), last.path().into());
    }
    let head = serde_json::to_vec(&body).map_err(ApiError::internal)?;
    let items = serde_json::to_vec(&page.items).map_err(ApiError::internal)?;
    // Splice the items in as the last key without building a `Value` per entry.
    let mut bytes = head;
    bytes.pop();
    bytes.extend_from_slice(b",\"items\":");
    bytes.extend_from_slice(&items);
    bytes.push(b'}');
    Ok(([(http::header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// `GET /files/sessions/{session_id}/catalog/events`.
#[utoipa::path(
    get,
    path = "/files/sessions/{session_id}/catalog/events",
    summary = "Poll file events",
    tag = "file-sessions",
    params(FileSessionId, ("since" = Option<u64>, Query, description = "Return events with a greater `seq` (default 0)")),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "File events after `since`; a first `seq` above `since + 1` means events were missed", body = schemas::files::FileEventList),
        (status = 400, description = "- `invalid_path`: Invalid percent-encoding in path", body = ErrorBody),
        (status = 403, description = errors::SESSION_OTHER_TOKEN, body = ErrorBody),
        (status = 404, description = errors::SESSION_NOT_FOUND, body = ErrorBody),
    ),
)]
async fn list_catalog_events(
    State(state): State<AppState>,
    ClientAuth(actor): ClientAuth,
    PathParams(session_id): PathParams<String>,
    FirstQuery(params): FirstQuery<HashMap<String, String>>,
) -> Result<axum::Json<Value>, ApiError> {
    let (_, workspace) = open_session(&state, &actor.token_hash, &session_id)?;
    let since = match params
        .get("since")
        .map(|s| s.trim())
        .and_then(|s| s.parse::<f64>().ok())
    {
        Some(n) if n.is_finite() && n >= 0.0 => n.floor() as u64,
        _ => 0,
    };
    // The catalog's watcher is what reports external changes; make sure it runs.
    catalog(&state, &workspace);
    let (items, cursor) = state.file_events.since(&workspace.id, since);
    Ok(axum::Json(json!({"items": items, "cursor": cursor})))
}

#[cfg(test)]
mod tests {
    use super::page_limit;

    #[test]
    fn page_limits_read_like_javascript_numbers() {
        assert_eq!(page_limit(None), 2000);
        assert_eq!(page_limit(Some("abc")), 2000);
        assert_eq!(page_limit(Some("-5")), 2000);
        assert_eq!(page_limit(Some("0")), 2000);
        assert_eq!(page_limit(Some("25.9")), 25);
        assert_eq!(page_limit(Some("0.5")), 0);
        assert_eq!(page_limit(Some("50000")), 10_000);
    }
}
