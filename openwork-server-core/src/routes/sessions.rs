//! The sessions read model over the workspace's OpenCode (contract Appendix A):
//! `GET /workspace/:id/sessions`, `…/sessions/:sessionId`, `…/messages`, `…/snapshot`,
//! `DELETE …/sessions/:sessionId`, and `DELETE /workspace/:id/mcp/:name/auth`, which
//! signs an MCP server out in OpenCode.
//!
//! Every call goes to the workspace's OpenCode (its own base URL and credentials, else
//! the server's) with `x-opencode-directory` set to the workspace's directory, so OpenCode
//! answers for that project.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::guard::{ReadAccess, WriteAccess};
use super::openapi::params::WorkspaceId;
use super::openapi::schemas::{self, ErrorBody};
use crate::error::ApiError;
use crate::opencode::{OpencodeConnection, OpencodeError, path_segment};
use crate::pipeline::extract::PathParams;
use crate::resources::{mcp, sessions};
use crate::state::AppState;
use crate::workspace::Workspace;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(get_session, delete_session))
        .routes(routes!(list_session_messages))
        .routes(routes!(get_session_snapshot))
        .routes(routes!(remove_mcp_auth))
}

/// The workspace's OpenCode and directory, for calls made on its behalf.
struct Upstream<'a> {
    connection: OpencodeConnection,
    directory: Option<&'a str>,
}

impl<'a> Upstream<'a> {
    /// The workspace's connection; `400 opencode_unconfigured` when no base URL is set.
    fn of(state: &AppState, workspace: &'a Workspace) -> Result<Self, ApiError> {
        let connection = OpencodeConnection::for_workspace(workspace, &state.config.opencode);
        if connection.base_url.is_none() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "opencode_unconfigured",
                "OpenCode base URL is missing for this workspace",
            ));
        }
        Ok(Self {
            connection,
            directory: workspace.opencode_directory(),
        })
    }

    /// `GET path?query`; errors become the contract's answers.
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<bytes::Bytes, ApiError> {
        self.connection
            .get_json(path, query, self.directory)
            .await
            .map_err(|error| upstream_error(error, path))
    }
}

/// `/session/<id>` with the id escaped as one path segment.
fn session_path(session_id: &str, rest: &str) -> String {
    format!("/session/{}{rest}", path_segment(session_id))
}

/// The contract's answer for a failed call to OpenCode about `path`.
fn upstream_error(error: OpencodeError, path: &str) -> ApiError {
    match error {
        configuration @ (OpencodeError::Unconfigured | OpencodeError::InvalidUrl) => {
            configuration.configuration_error()
        }
        OpencodeError::Status { status: 404, .. } if path.starts_with("/session/") => {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "session_not_found",
                "Session not found",
            )
        }
        OpencodeError::Status { status: 400, body } => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "OpenCode rejected the request",
        )
        .with_details(json!({ "status": 400, "body": body, "path": path })),
        OpencodeError::Status { status, body } => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "opencode_request_failed",
            "OpenCode request failed",
        )
        .with_details(json!({ "status": status, "body": body, "path": path })),
        // D10: an unreachable OpenCode is a bad gateway, not an internal error. The cause
        // (socket errors) goes to the log only.
        OpencodeError::Unreachable(cause) => {
            tracing::warn!(target: "openwork_server::opencode", "{path}: {cause}");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "opencode_unreachable",
                "OpenCode is not reachable",
            )
            .with_details(json!({ "path": path }))
        }
    }
}

/// `GET /workspace/:id/sessions?roots=&start=&search=&limit=`: OpenCode's session list.
#[utoipa::path(
    get,
    path = "/workspace/{id}/sessions",
    summary = "List OpenCode sessions",
    tag = "sessions",
    params(WorkspaceId, ("roots" = Option<bool>, Query, description = "Only root sessions (`true`/`false`)"), ("start" = Option<u64>, Query, description = "Sessions updated since (epoch ms)"), ("search" = Option<String>, Query, description = "Title search"), ("limit" = Option<u32>, Query, description = "At most this many, a positive integer")),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses(
        (status = 200, description = "OpenCode's sessions", body = schemas::opencode::SessionList),
        (status = 400, description = "- `invalid_query`: <which parameter is wrong> | OpenCode rejected the request (details: `status`, `body`, `path`)\n- `opencode_unconfigured`: OpenCode base URL is missing for this workspace\n- `opencode_url_invalid`: OpenCode base URL is invalid", body = ErrorBody),
        (status = 502, description = "- `opencode_request_failed`: OpenCode request failed (details: `status`, `body`, `path`)\n- `opencode_unreachable`: OpenCode is not reachable (details: `path`)\n- `opencode_invalid_response`: OpenCode returned invalid session list", body = ErrorBody),
    ),
)]
async fn list_sessions(
    ReadAccess { workspace }: ReadAccess,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let query = sessions::list_query(&sessions::parse_query(raw.as_deref())?)?;
    let upstream = Upstream::of(&state, &workspace)?;
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = upstream.get("/session", &query).await?;
    Ok(Json(json!({ "items": sessions::session_list(&reply)? })))
}

/// One session, as OpenCode reports it.
async fn fetch_session(upstream: &Upstream<'_>, session_id: &str) -> Result<Value, ApiError> {
    let reply = upstream.get(&session_path(session_id, ""), &[]).await?;
    sessions::session(&reply)
}

/// A session's messages, newest `limit` only when given.
async fn fetch_messages(
    upstream: &Upstream<'_>,
    session_id: &str,
    limit: Option<&str>,
) -> Result<Value, ApiError> {
    let query: Vec<(&str, &str)> = limit.map(|l| ("limit", l)).into_iter().collect();
    let reply = upstream
        .get(&session_path(session_id, "/message"), &query)
        .await?;
    sessions::messages(&reply)
}

/// `GET /workspace/:id/sessions/:sessionId`: `{"item": Session}`.
#[utoipa::path(
    get,
    path = "/workspace/{id}/sessions/{session_id}",
    summary = "One OpenCode session",
    tag = "sessions",
    params(WorkspaceId, ("session_id" = String, Path, description = "OpenCode session id")),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses(
        (status = 200, description = "The session", body = schemas::opencode::SessionDetail),
        (status = 400, description = "- `invalid_query`: <which parameter is wrong> | OpenCode rejected the request (details: `status`, `body`, `path`)\n- `opencode_unconfigured`: OpenCode base URL is missing for this workspace\n- `opencode_url_invalid`: OpenCode base URL is invalid", body = ErrorBody),
        (status = 404, description = "- `session_not_found`: Session not found", body = ErrorBody),
        (status = 502, description = "- `opencode_request_failed`: OpenCode request failed (details: `status`, `body`, `path`)\n- `opencode_unreachable`: OpenCode is not reachable (details: `path`)\n- `opencode_invalid_response`: OpenCode returned invalid session", body = ErrorBody),
    ),
)]
async fn get_session(
    ReadAccess { workspace }: ReadAccess,
    State(state): State<AppState>,
    PathParams((_, session_id)): PathParams<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let upstream = Upstream::of(&state, &workspace)?;
    let session = fetch_session(&upstream, &session_id).await?;
    Ok(Json(json!({ "item": session })))
}

/// `GET /workspace/:id/sessions/:sessionId/messages?limit=`: `{"items":[{info, parts}]}`.
#[utoipa::path(
    get,
    path = "/workspace/{id}/sessions/{session_id}/messages",
    summary = "A session's messages",
    tag = "sessions",
    params(WorkspaceId, ("session_id" = String, Path, description = "OpenCode session id"), ("limit" = Option<u32>, Query, description = "Newest messages only, a positive integer")),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses(
        (status = 200, description = "The session's messages", body = schemas::opencode::SessionMessages),
        (status = 400, description = "- `invalid_query`: <which parameter is wrong> | OpenCode rejected the request (details: `status`, `body`, `path`)\n- `opencode_unconfigured`: OpenCode base URL is missing for this workspace\n- `opencode_url_invalid`: OpenCode base URL is invalid", body = ErrorBody),
        (status = 404, description = "- `session_not_found`: Session not found", body = ErrorBody),
        (status = 502, description = "- `opencode_request_failed`: OpenCode request failed (details: `status`, `body`, `path`)\n- `opencode_unreachable`: OpenCode is not reachable (details: `path`)\n- `opencode_invalid_response`: OpenCode returned invalid session messages", body = ErrorBody),
    ),
)]
async fn list_session_messages(
    ReadAccess { workspace }: ReadAccess,
    State(state): State<AppState>,
    PathParams((_, session_id)): PathParams<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let limit = sessions::limit(&sessions::parse_query(raw.as_deref())?)?;
    let upstream = Upstream::of(&state, &workspace)?;
    let messages = fetch_messages(&upstream, &session_id, limit.as_deref()).await?;
    Ok(Json(json!({ "items": messages })))
}

/// `GET /workspace/:id/sessions/:sessionId/snapshot?limit=`: the session with its
/// messages, todos and current status, in one answer.
#[utoipa::path(
    get,
    path = "/workspace/{id}/sessions/{session_id}/snapshot",
    summary = "A session with messages, todos and status",
    tag = "sessions",
    params(WorkspaceId, ("session_id" = String, Path, description = "OpenCode session id"), ("limit" = Option<u32>, Query, description = "Newest messages only, a positive integer")),
    security(("bearer" = ["viewer"])),
    extensions(("x-openwork-access" = json!("workspace-read"))),
    responses(
        (status = 200, description = "The session with messages, todos and status", body = schemas::opencode::SessionSnapshot),
        (status = 400, description = "- `invalid_query`: <which parameter is wrong> | OpenCode rejected the request (details: `status`, `body`, `path`)\n- `opencode_unconfigured`: OpenCode base URL is missing for this workspace\n- `opencode_url_invalid`: OpenCode base URL is invalid", body = ErrorBody),
        (status = 404, description = "- `session_not_found`: Session not found", body = ErrorBody),
        (status = 502, description = "- `opencode_request_failed`: OpenCode request failed (details: `status`, `body`, `path`)\n- `opencode_unreachable`: OpenCode is not reachable (details: `path`)\n- `opencode_invalid_response`: OpenCode returned invalid session | invalid session messages | invalid todo list | invalid session status", body = ErrorBody),
    ),
)]
async fn get_session_snapshot(
    ReadAccess { workspace }: ReadAccess,
    State(state): State<AppState>,
    PathParams((_, session_id)): PathParams<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let limit = sessions::limit(&sessions::parse_query(raw.as_deref())?)?;
    let upstream = Upstream::of(&state, &workspace)?;
    // The session first: an unknown id is a 404, not four failed calls.
    let session = fetch_session(&upstream, &session_id).await?;
    let todo_path = session_path(&session_id, "/todo");
    let (messages, todos, status) = tokio::try_join!(
        fetch_messages(&upstream, &session_id, limit.as_deref()),
        async {
            let reply = upstream.get(&todo_path, &[]).await?;
            sessions::todos(&reply)
        },
        async {
            let reply = upstream.get("/session/status", &[]).await?;
            sessions::status_of(&reply, &session_id)
        },
    )?;
    Ok(Json(json!({
        "item": {
            "session": session,
            "messages": messages,
            "todos": todos,
            "status": status,
        }
    })))
}

/// `DELETE /workspace/:id/sessions/:sessionId`: deletes the session in OpenCode. A write
/// (collaborator, writable server) but not approval-gated: no file of the workspace changes.
#[utoipa::path(
    delete,
    path = "/workspace/{id}/sessions/{session_id}",
    summary = "Delete an OpenCode session",
    tag = "sessions",
    params(WorkspaceId, ("session_id" = String, Path, description = "OpenCode session id")),
    security(("bearer" = ["collaborator"])),
    extensions(("x-openwork-access" = json!("workspace-write"))),
    responses(
        (status = 200, description = "Deleted in OpenCode (no approval asked)", body = schemas::Ok),
        (status = 400, description = "- `invalid_query`: <which parameter is wrong> | OpenCode rejected the request (details: `status`, `body`, `path`)\n- `opencode_unconfigured`: OpenCode base URL is missing for this workspace\n- `opencode_url_invalid`: OpenCode base URL is invalid", body = ErrorBody),
        (status = 404, description = "- `session_not_found`: Session not found", body = ErrorBody),
        (status = 502, description = "- `opencode_request_failed`: OpenCode request failed (details: `status`, `body`, `path`)\n- `opencode_unreachable`: OpenCode is not reachable (details: `path`)", body = ErrorBody),
    ),
)]
async fn delete_session(
    access: WriteAccess,
    PathParams((_, session_id)): PathParams<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let upstream = Upstream::of(&access.state, &access.workspace)?;
    let path = session_path(&session_id, "");
    upstream
        .connection
        .delete(&path, upstream.directory)
        .await
        .map_err(|error| upstream_error(error, &path))?;
    Ok(Json(json!({ "ok": true })))
}

/// `DELETE /workspace/:id/mcp/:name/auth`: OpenCode forgets the MCP server's stored
/// credentials (after disconnecting it, best effort). An unknown name upstream is success.
#[utoipa::path(
    delete,
    path = "/workspace/{id}/mcp/{name}/auth",
    summary = "Sign an MCP server out",
    tag = "mcp",
    params(WorkspaceId, ("name" = String, Path, description = "MCP server name")),
    security(("bearer" = ["collaborator"])),
    extensions(
        ("x-openwork-access" = json!("workspace-write")),
        ("x-openwork-approval" = json!("mcp.auth.remove")),
    ),
    responses(
        (status = 200, description = "OpenCode forgot the server's credentials", body = schemas::Ok),
        (status = 400, description = "- `invalid_mcp_name`: MCP name must be alphanumeric and not start with -\n- `invalid_query`: <which parameter is wrong> | OpenCode rejected the request (details: `status`, `body`, `path`)\n- `opencode_unconfigured`: OpenCode base URL is missing for this workspace\n- `opencode_url_invalid`: OpenCode base URL is invalid", body = ErrorBody),
        (status = 502, description = "- `opencode_request_failed`: OpenCode request failed (details: `status`, `body`, `path`)\n- `opencode_unreachable`: OpenCode is not reachable (details: `path`)", body = ErrorBody),
    ),
)]
async fn remove_mcp_auth(
    access: WriteAccess,
    PathParams((_, name)): PathParams<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    // D4: everything that needs no write is checked before the host is asked.
    mcp::validate_name(&name)?;
    let upstream = Upstream::of(&access.state, &access.workspace)?;
    let auth_file = access
        .state
        .global_opencode_dir()
        .join("mcp-auth.json")
        .to_string_lossy()
        .into_owned();
    access
        .approve(
            "mcp.auth.remove",
            format!("Remove MCP auth {name}"),
            vec![auth_file.clone()],
        )
        .await?;
    let segment = path_segment(&name);
    // Best effort: a server that is not connected (or unknown) must not stop the sign-out.
    if let Err(error) = upstream
        .connection
        .post_json(
            &format!("/mcp/{segment}/disconnect"),
            upstream.directory,
            None,
        )
        .await
    {
        tracing::debug!(target: "openwork_server::opencode", "MCP disconnect of {name}: {error}");
    }
    let path = format!("/mcp/{segment}/auth");
    match upstream.connection.delete(&path, upstream.directory).await {
        Ok(_) | Err(OpencodeError::Status { status: 404, .. }) => {}
        Err(error) => return Err(upstream_error(error, &path)),
    }
    access
        .audit(
            "mcp.auth.remove",
            auth_file,
            format!("Removed MCP auth {name}"),
        )
        .await;
    Ok(Json(json!({ "ok": true })))
}
