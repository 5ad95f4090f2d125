//! Proxy routes (contract §9): `/opencode…` and `/opencode-router…`, bare, with a trailing
//! slash or any deeper path, unmounted and under `/w/:id/`, for every method.

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::any;
use percent_encoding::percent_decode_str;

use crate::auth::extract::ClientAuth;
use crate::error::ApiError;
use crate::proxy;
use crate::state::AppState;

/// The proxy routes. The pipeline's mount rewrite leaves `/w/<id>/opencode…` alone, so the
/// mounted forms are routes of their own.
pub(super) fn router() -> Router<AppState> {
    let mut router = Router::new();
    for prefix in ["/opencode", "/w/{id}/opencode"] {
        for path in [
            prefix.to_owned(),
            format!("{prefix}/"),
            format!("{prefix}/{{*rest}}"),
        ] {
            router = router.route(&path, any(proxy_opencode));
        }
    }
    for prefix in ["/opencode-router", "/w/{id}/opencode-router"] {
        for path in [
            prefix.to_owned(),
            format!("{prefix}/"),
            format!("{prefix}/{{*rest}}"),
        ] {
            router = router.route(&path, any(proxy_router));
        }
    }
    router
}

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
