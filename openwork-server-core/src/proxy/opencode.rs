//! The OpenCode proxy (contract §9.1, D3, D10): who may send what through it, where it
//! goes, and which headers the engine sees.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use serde_json::json;
use std::path::{Path, PathBuf};

use super::{is_read_method, target_uri, upstream_headers, upstream_request};
use crate::auth::{Actor, Scope};
use crate::error::ApiError;
use crate::fs::paths::{is_within, resolve_lexical};
use crate::opencode::OpencodeConnection;
use crate::pipeline::ProxyTarget;
use crate::state::AppState;
use crate::workspace::Workspace;

/// The header that tells OpenCode which project directory a request is about.
const DIRECTORY_HEADER: &str = "x-opencode-directory";

/// `403 forbidden` with a plain message (no details), as the proxy's checks answer.
fn forbidden(message: &'static str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

/// The scope checks that run before the workspace is looked at: viewers only read, and
/// only owners answer OpenCode's permission prompts.
pub(crate) fn check_caller(
    actor: &Actor,
    method: &http::Method,
    upstream_path: &str,
) -> Result<(), ApiError> {
    if is_read_method(method) {
        return Ok(());
    }
    if actor.scope == Scope::Viewer {
        return Err(forbidden("Viewer tokens are read-only"));
    }
    if actor.scope != Scope::Owner && is_permission_reply(upstream_path) {
        return Err(forbidden(
            "Only owner tokens can reply to permission requests",
        ));
    }
    Ok(())
}

/// Whether an upstream path answers a permission request: `…/permission/<id>/reply` (the
/// reference's rule) or `…/session/<id>/permissions/<id>` (the session-scoped form of
/// OpenCode 1.2's API, per its `/doc`).
fn is_permission_reply(path: &str) -> bool {
    // SECURITY: OpenCode's router percent-decodes the path before matching, so the check
    // looks at the decoded path too; empty segments (`//`, trailing `/`) are ignored and
    // names compared without case so no spelling slips past.
    let decoded = percent_decode_str(path).decode_utf8_lossy();
    [path, decoded.as_ref()].into_iter().any(|candidate| {
        let segments: Vec<String> = candidate
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        matches!(
            segments.as_slice(),
            [.., a, _, b] if a == "permission" && b == "reply"
        ) || matches!(
            segments.as_slice(),
            [.., a, _, b, _] if a == "session" && b == "permissions"
        )
    })
}

/// D3: whether a client-chosen OpenCode directory lies inside an authorized root (or is
/// the workspace's own directory), lexically and, for what exists of it, after following
/// symlinks.
fn directory_allowed(requested: &str, own: Option<&str>, roots: &[String]) -> bool {
    // SECURITY: OpenCode percent-decodes the value when it can; the value as sent and its
    // decoded form must both pass, whichever of them OpenCode ends up using.
    let decoded = percent_decode_str(requested)
        .decode_utf8()
        .map_or_else(|_| requested.to_owned(), |d| d.into_owned());
    [requested, decoded.as_str()]
        .into_iter()
        .all(|candidate| one_directory_allowed(candidate, own, roots))
}

fn one_directory_allowed(requested: &str, own: Option<&str>, roots: &[String]) -> bool {
    if !requested.starts_with('/') {
        return false;
    }
    let lexical = resolve_lexical("/", requested);
    if own.is_some_and(|own| resolve_lexical("/", own) == lexical) {
        return true;
    }
    if !roots.iter().any(|root| is_within(&lexical, root)) {
        return false;
    }
    // SECURITY: a symlink inside a root may point anywhere; the deepest existing ancestor
    // is resolved and must still lie inside a (resolved) root.
    let Some(real) = deepest_existing(Path::new(&lexical)) else {
        return false;
    };
    roots.iter().any(|root| {
        let root = Path::new(root)
            .canonicalize()
            .unwrap_or_else(|_| PathBuf::from(root));
        real.starts_with(root)
    })
}

/// What a header value cannot hold as is, and `%` itself: OpenCode runs the value through
/// `decodeURIComponent`, so these are percent-encoded and every other byte kept verbatim.
const DIRECTORY_ESCAPES: &AsciiSet = &CONTROLS.add(b'%');

/// The `x-opencode-directory` value for a directory: plain ASCII paths as they are (as the
/// reference sends them), anything OpenCode would decode differently percent-encoded.
fn directory_header(directory: &str) -> Result<HeaderValue, http::header::InvalidHeaderValue> {
    HeaderValue::from_str(&utf8_percent_encode(directory, DIRECTORY_ESCAPES).to_string())
}

/// Every directory the client names for OpenCode: each `x-opencode-directory` header and
/// each `directory` query parameter (OpenCode honours both; the query one first).
fn requested_directories(parts: &http::request::Parts) -> Vec<String> {
    let headers = parts
        .headers
        .get_all(DIRECTORY_HEADER)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    // Query values are form-decoded (`+` is a space) as OpenCode's router reads them.
    let query = parts
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .filter(|(key, _)| *key == "directory")
        .map(|(_, value)| {
            let value = value.replace('+', " ");
            percent_decode_str(&value).decode_utf8_lossy().into_owned()
        });
    // An empty value is no choice: OpenCode falls back to the next source.
    headers.chain(query).filter(|dir| !dir.is_empty()).collect()
}

/// The canonical form of the longest existing prefix of `path`, with the rest appended.
fn deepest_existing(path: &Path) -> Option<PathBuf> {
    let mut missing = Vec::new();
    let mut current = path;
    loop {
        if let Ok(real) = current.canonicalize() {
            return Some(missing.iter().rev().fold(real, |acc, part| acc.join(part)));
        }
        missing.push(current.file_name()?.to_owned());
        current = current.parent()?;
    }
}

/// Forwards `request` to the OpenCode of `workspace` (or of the server when no workspace
/// is configured); `upstream_path` is the request path without its `/opencode` prefix.
pub(crate) async fn forward(
    state: &AppState,
    workspace: Option<&Workspace>,
    upstream_path: &str,
    request: Request,
) -> Result<Response, ApiError> {
    let connection = match workspace {
        Some(ws) => OpencodeConnection::for_workspace(ws, &state.config.opencode),
        None => OpencodeConnection::for_server(&state.config.opencode),
    };
    let Some(base_url) = connection.base_url else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "opencode_unconfigured",
            "OpenCode base URL is missing for this workspace",
        ));
    };
    let (mut parts, body) = request.into_parts();
    let own_directory = workspace.and_then(Workspace::opencode_directory);
    let requested = requested_directories(&parts);
    if !requested.is_empty() {
        let own = own_directory.map(str::to_owned);
        let roots = state.workspaces().authorized_roots.clone();
        let allowed = tokio::task::spawn_blocking(move || {
            requested
                .iter()
                .all(|dir| directory_allowed(dir, own.as_deref(), &roots))
        })
        .await
        .map_err(ApiError::internal)?;
        if !allowed {
            return Err(forbidden("Directory is not authorized"));
        }
    }
    let Some(target) = target_uri(&base_url, upstream_path, parts.uri.query()) else {
        return Err(ApiError::internal(format!(
            "invalid OpenCode base URL {base_url:?}"
        )));
    };
    let mut headers = upstream_headers(std::mem::take(&mut parts.headers));
    if !headers.contains_key(DIRECTORY_HEADER) {
        if let Some(value) = own_directory.and_then(|d| directory_header(d).ok()) {
            headers.insert(DIRECTORY_HEADER, value);
        }
    }
    if let Some(value) = connection
        .authorization
        .as_deref()
        .and_then(|a| HeaderValue::from_str(a).ok())
    {
        headers.insert(header::AUTHORIZATION, value);
    }
    let upstream = upstream_request(parts.method, target.clone(), headers, body);
    let proxy_target = ProxyTarget {
        base_url: base_url.clone(),
        service: "opencode",
    };
    let mut response = match state.proxy_client.forward(upstream, &state.shutdown).await {
        Ok(response) => response,
        Err(cause) => {
            tracing::warn!(target: "openwork_server::proxy", "OpenCode unreachable at {target}: {cause}");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "opencode_unreachable",
                "OpenCode is not reachable",
            )
            .with_details(json!({
                "baseUrl": base_url,
                "targetUrl": target.to_string(),
                "error": cause,
            }))
            .into_response()
        }
    };
    response.extensions_mut().insert(proxy_target);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_reply_path_is_recognised() {
        for path in [
            "/permission/per_1/reply",
            "/permission/per_1/reply/",
            "//permission//per_1//reply",
            "/Permission/x/REPLY",
            "/permission/x/%72eply",
            "/session/ses_1/permissions/per_1",
            "/session/ses_1/permissions/per_1/",
            "/api/session/s/permissions/p",
        ] {
            assert!(is_permission_reply(path), "{path}");
        }
        for path in [
            "/permission",
            "/permission/x",
            "/session/ses_1",
            "/session/ses_1/permissions",
            "/question/q/reply",
            "/session/s/message",
        ] {
            assert!(!is_permission_reply(path), "{path}");
        }
    }

    #[test]
    fn viewers_only_read_and_only_owners_reply() {
        let actor = |scope| Actor::remote("t", scope, None);
        let post = http::Method::POST;
        let reply = "/permission/p/reply";
        assert!(check_caller(&actor(Scope::Viewer), &http::Method::GET, reply).is_ok());
        assert!(check_caller(&actor(Scope::Viewer), &http::Method::HEAD, "/x").is_ok());
        assert!(check_caller(&actor(Scope::Viewer), &post, "/session").is_err());
        assert!(check_caller(&actor(Scope::Collaborator), &post, "/session").is_ok());
        assert!(check_caller(&actor(Scope::Collaborator), &post, reply).is_err());
        assert!(check_caller(&actor(Scope::Owner), &post, reply).is_ok());
    }

    #[test]
    fn a_directory_must_stay_inside_a_root_even_through_symlinks() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root_path = root.path().canonicalize().unwrap();
        std::fs::create_dir(root_path.join("sub")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root_path.join("escape")).unwrap();
        let roots = vec![root_path.to_string_lossy().into_owned()];
        let at = |rel: &str| format!("{}{rel}", root_path.display());
        assert!(directory_allowed(&at(""), None, &roots));
        assert!(directory_allowed(&at("/sub"), None, &roots));
        assert!(directory_allowed(&at("/not/yet"), None, &roots));
        assert!(!directory_allowed(&at("/escape"), None, &roots));
        assert!(!directory_allowed(&at("/escape/deeper"), None, &roots));
        assert!(!directory_allowed(&at("/sub/../.."), None, &roots));
        assert!(!directory_allowed("/etc", None, &roots));
        assert!(!directory_allowed("%2Fetc", None, &roots));
        assert!(!directory_allowed("relative", None, &roots));
        assert!(directory_allowed("/srv/own/", Some("/srv/own"), &roots));
        assert!(!directory_allowed(&at("/%2e%2e/x"), None, &roots));
        assert!(directory_allowed(&at("/a%20b"), None, &roots));
    }

    #[test]
    fn our_directory_header_decodes_back_to_the_directory() {
        assert_eq!(directory_header("/srv/my ws").unwrap(), "/srv/my ws");
        assert_eq!(
            directory_header("/srv/ä/100%").unwrap(),
            "/srv/%C3%A4/100%25"
        );
    }

    #[test]
    fn directories_come_from_every_header_and_directory_query_parameter() {
        let request = http::Request::get("/session?x=1&directory=%2Ftmp%2Fa+b&directory")
            .header(DIRECTORY_HEADER, "/one")
            .header(DIRECTORY_HEADER, "/two")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        assert_eq!(requested_directories(&parts), ["/one", "/two", "/tmp/a b"]);
    }
}
