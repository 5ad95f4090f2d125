//! Proxy routes (contract §9): `/opencode…` and `/opencode-router…`, bare, with a trailing
//! slash or any deeper path, unmounted and under `/w/:id/`, for every method.

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::response::Response;
use axum::routing::any;
use percent_encoding::percent_decode_str;

use super::openapi::params::WorkspaceId;
use super::openapi::schemas::ErrorBody;
use crate::auth::extract::ClientAuth;
use crate::error::ApiError;
use crate::proxy;
use crate::state::AppState;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

/// The proxy routes: every method, so each documented path is registered with `any`.
/// The pipeline's mount rewrite leaves `/w/<id>/opencode…` alone, so the mounted forms are
/// routes of their own.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(every_method(routes!(opencode_root), opencode_root))
        .routes(every_method(
            routes!(opencode_root_slash),
            opencode_root_slash,
        ))
        .routes(every_method(routes!(opencode_path), opencode_path))
        .routes(every_method(
            routes!(mounted_opencode_root),
            mounted_opencode_root,
        ))
        .routes(every_method(
            routes!(mounted_opencode_root_slash),
            mounted_opencode_root_slash,
        ))
        .routes(every_method(
            routes!(mounted_opencode_path),
            mounted_opencode_path,
        ))
        .routes(every_method(routes!(router_root), router_root))
        .routes(every_method(routes!(router_root_slash), router_root_slash))
        .routes(every_method(routes!(router_path), router_path))
        .routes(every_method(
            routes!(mounted_router_root),
            mounted_router_root,
        ))
        .routes(every_method(
            routes!(mounted_router_root_slash),
            mounted_router_root_slash,
        ))
        .routes(every_method(
            routes!(mounted_router_path),
            mounted_router_path,
        ))
}

/// Keeps the documentation of `documented` but serves every HTTP method with `handler`
/// (the document lists the common ones; `TRACE`, `CONNECT` or custom methods are proxied
/// too).
fn every_method<H, T>(
    (schemas, paths, _): UtoipaMethodRouter<AppState>,
    handler: H,
) -> UtoipaMethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    (schemas, paths, any(handler))
}

/// The errors of the OpenCode proxy besides auth, and OpenCode's own answers.
macro_rules! opencode_route {
    ($name:ident, $path:literal, $summary:literal $(, $param:tt)*) => {
        #[doc = $summary]
        #[utoipa::path(
            method(get, post, put, patch, delete),
            path = $path,
            tag = "proxy",
            summary = $summary,
            description = "Forwarded to the workspace's OpenCode (mounted: that workspace; else the first one) with the path after `/opencode`, the query verbatim, `x-opencode-directory` and OpenCode's credentials added, the caller's `Authorization` removed. Bodies and answers (including SSE) stream through. Viewers may only `GET`/`HEAD`; only owners answer permission prompts (`…/permission/{id}/reply`).",
            params($($param),*),
            security(("bearer" = ["viewer"])),
            responses(
                (status = 400, description = "- `opencode_unconfigured`: OpenCode base URL is missing for this workspace\n- `opencode_url_invalid`: OpenCode base URL is invalid\n- `invalid_path`: Invalid percent-encoding in path", body = ErrorBody),
                (status = 403, description = "- `forbidden`: Viewer tokens are read-only | Only owner tokens can reply to permission requests | Directory is not authorized (`x-opencode-directory` outside the authorized roots, D3)\n- `workspace_unauthorized`: Workspace is not authorized (mounted)", body = ErrorBody),
                (status = 404, description = "- `workspace_not_found`: Workspace not found (mounted)", body = ErrorBody),
                (status = 502, description = "- `opencode_unreachable`: OpenCode is not reachable (details: the target, D10)", body = ErrorBody),
                (status = "default", description = "OpenCode's answer, passed through (status, headers and body)"),
            ),
        )]
        async fn $name(
            state: State<AppState>,
            auth: ClientAuth,
            request: Request,
        ) -> Result<Response, ApiError> {
            proxy_opencode(state, auth, request).await
        }
    };
}

/// The errors of the OpenCodeRouter proxy besides auth, and the router's own answers.
macro_rules! router_route {
    ($name:ident, $path:literal, $summary:literal $(, $param:tt)*) => {
        #[doc = $summary]
        #[utoipa::path(
            method(get, post, put, patch, delete),
            path = $path,
            tag = "proxy",
            summary = $summary,
            description = "Forwarded to the host's OpenCodeRouter (`127.0.0.1:$OPENCODE_ROUTER_HEALTH_PORT`) with the path after `/opencode-router` and the query verbatim; the mount id is not checked. `GET /opencode-router` and `GET …/health` take any bearer; `GET …/bindings`, `…/identities/telegram` and `…/identities/slack` a collaborator; everything else the host.",
            params($($param),*),
            security(("bearer" = ["viewer"]), ("hostToken" = []), ("bearer" = ["owner"])),
            responses(
                (status = 401, description = "- `unauthorized`: Invalid bearer token (paths open to any bearer)", body = ErrorBody),
                (status = 403, description = "- `forbidden`: Insufficient token scope (details: `required`, `scope`)", body = ErrorBody),
                (status = 404, description = "- `opencodeRouter_unconfigured`: OpenCodeRouter is not configured on this host", body = ErrorBody),
                (status = 503, description = "- `opencodeRouter_unreachable`: OpenCodeRouter is not reachable on this host (details: `baseUrl`, `port`, `targetUrl`, `error`)", body = ErrorBody),
                (status = "default", description = "The router's answer, passed through (status, headers and body)"),
            ),
        )]
        async fn $name(state: State<AppState>, request: Request) -> Result<Response, ApiError> {
            proxy_router(state, request).await
        }
    };
}

opencode_route!(opencode_root, "/opencode", "OpenCode proxy: `/`");
opencode_route!(opencode_root_slash, "/opencode/", "OpenCode proxy: `/`");
opencode_route!(
    opencode_path,
    "/opencode/{*path}",
    "OpenCode proxy: any path",
    (
        "path" = String,
        Path,
        description = "OpenCode path, e.g. `session` or `event`"
    )
);
opencode_route!(
    mounted_opencode_root,
    "/w/{id}/opencode",
    "OpenCode proxy for one workspace: `/`",
    WorkspaceId
);
opencode_route!(
    mounted_opencode_root_slash,
    "/w/{id}/opencode/",
    "OpenCode proxy for one workspace: `/`",
    WorkspaceId
);
opencode_route!(
    mounted_opencode_path,
    "/w/{id}/opencode/{*path}",
    "OpenCode proxy for one workspace: any path",
    WorkspaceId,
    (
        "path" = String,
        Path,
        description = "OpenCode path, e.g. `session` or `event`"
    )
);
router_route!(router_root, "/opencode-router", "OpenCodeRouter proxy: `/`");
router_route!(
    router_root_slash,
    "/opencode-router/",
    "OpenCodeRouter proxy: `/`"
);
router_route!(
    router_path,
    "/opencode-router/{*path}",
    "OpenCodeRouter proxy: any path",
    (
        "path" = String,
        Path,
        description = "Router path, e.g. `health` or `bindings`"
    )
);
router_route!(
    mounted_router_root,
    "/w/{id}/opencode-router",
    "OpenCodeRouter proxy (mounted): `/`",
    (
        "id" = String,
        Path,
        description = "Any id (not checked: the router is host-global)"
    )
);
router_route!(
    mounted_router_root_slash,
    "/w/{id}/opencode-router/",
    "OpenCodeRouter proxy (mounted): `/`",
    (
        "id" = String,
        Path,
        description = "Any id (not checked: the router is host-global)"
    )
);
router_route!(
    mounted_router_path,
    "/w/{id}/opencode-router/{*path}",
    "OpenCodeRouter proxy (mounted): any path",
    (
        "id" = String,
        Path,
        description = "Any id (not checked: the router is host-global)"
    ),
    (
        "path" = String,
        Path,
        description = "Router path, e.g. `health` or `bindings`"
    )
);

/// A proxied request path split into the mount id (raw) and the path after `service`.
fn split_path<'a>(path: &'a str, service: &str) -> (Option<&'a str>, &'a str) {
    let (mount, rest) = match path.strip_prefix("/w/") {
        Some(after) => match after.split_once('/') {
            Some((id, rest)) => (Some(id), &path[path.len() - rest.len() - 1..]),
            None => (None, path),
        },
        None => (None, path),
    };
    (mount, rest.strip_prefix(service).unwrap_or(rest))
}

/// Any method on `/opencode…` or `/w/:id/opencode…`: forwarded to the workspace's OpenCode.
async fn proxy_opencode(
    State(state): State<AppState>,
    ClientAuth(actor): ClientAuth,
    request: Request,
) -> Result<Response, ApiError> {
    let path = request.uri().path().to_owned();
    let (mount, rest) = split_path(&path, "/opencode");
    let upstream_path = if rest.is_empty() { "/" } else { rest };
    proxy::opencode::check_caller(&actor, request.method(), upstream_path)?;
    let workspace = match mount {
        Some(raw_id) => {
            let id = percent_decode_str(raw_id)
                .decode_utf8()
                .map_err(|_| crate::pipeline::extract::invalid_path_encoding())?;
            Some(state.resolve_workspace(&id)?)
        }
        // The reference uses the first workspace without the authorized-root check.
        None => state.workspaces().items.first().cloned(),
    };
    proxy::opencode::forward(&state, workspace.as_ref(), upstream_path, request).await
}

/// Any method on `/opencode-router…` or `/w/:id/opencode-router…` (the id is not checked:
/// the router is host-global).
async fn proxy_router(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let path = request.uri().path().to_owned();
    let (_, rest) = split_path(&path, "/opencode-router");
    proxy::router::forward(&state, rest, request).await
}

#[cfg(test)]
mod tests {
    use super::split_path;

    #[test]
    fn paths_split_into_mount_and_upstream_path() {
        assert_eq!(split_path("/opencode", "/opencode"), (None, ""));
        assert_eq!(split_path("/opencode/", "/opencode"), (None, "/"));
        assert_eq!(
            split_path("/opencode/session/x", "/opencode"),
            (None, "/session/x")
        );
        assert_eq!(
            split_path("/w/ws%201/opencode/event", "/opencode"),
            (Some("ws%201"), "/event")
        );
        assert_eq!(
            split_path("/w/a/opencode-router", "/opencode-router"),
            (Some("a"), "")
        );
    }
}
