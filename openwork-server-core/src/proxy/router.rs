//! The OpenCode router proxy (contract §9.2): a per-path auth policy, then the request is
//! forwarded to the router's local port, read from `OPENCODE_ROUTER_HEALTH_PORT` per request.

use axum::extract::{FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use super::{target_uri, upstream_headers, upstream_request};
use crate::auth::Scope;
use crate::auth::extract::{ClientAuth, HostAuth};
use crate::config::Switches;
use crate::error::ApiError;
use crate::pipeline::ProxyTarget;
use crate::state::AppState;

/// Who may call a router path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Policy {
    /// Any valid bearer.
    Client,
    /// A bearer of scope collaborator or owner.
    Collaborator,
    /// The host token or an owner bearer.
    Host,
}

/// The policy for `method` on `upstream_path` (the path after `/opencode-router`).
fn policy(method: &http::Method, upstream_path: &str) -> Policy {
    if method != http::Method::GET {
        return Policy::Host;
    }
    let path = upstream_path.strip_suffix('/').unwrap_or(upstream_path);
    match path {
        "" | "/health" => Policy::Client,
        "/bindings" | "/identities/telegram" | "/identities/slack" => Policy::Collaborator,
        _ => Policy::Host,
    }
}

/// Authenticates `request` for `upstream_path`, then forwards it to the router.
pub(crate) async fn forward(
    state: &AppState,
    upstream_path: &str,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    match policy(&parts.method, upstream_path) {
        Policy::Client => {
            ClientAuth::from_request_parts(&mut parts, state).await?;
        }
        Policy::Collaborator => {
            let ClientAuth(actor) = ClientAuth::from_request_parts(&mut parts, state).await?;
            actor.require(Scope::Collaborator)?;
        }
        Policy::Host => {
            HostAuth::from_request_parts(&mut parts, state).await?;
        }
    }
    let Some(port) = Switches::read(&state.env).router_health_port else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "opencodeRouter_unconfigured",
            "OpenCodeRouter is not configured on this host",
        ));
    };
    let base_url = format!("http://127.0.0.1:{port}");
    let path = if upstream_path.is_empty() {
        "/"
    } else {
        upstream_path
    };
    let target = target_uri(&base_url, path, parts.uri.query()).ok_or_else(ApiError::not_found)?;
    let upstream = upstream_request(
        parts.method,
        target.clone(),
        upstream_headers(parts.headers),
        body,
    );
    let mut response = match state.proxy_client.forward(upstream, &state.shutdown).await {
        Ok(response) => response,
        Err(cause) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "opencodeRouter_unreachable",
            "OpenCodeRouter is not reachable on this host",
        )
        .with_details(json!({
            "baseUrl": base_url,
            "port": port,
            "targetUrl": target.to_string(),
            "error": cause,
        }))
        .into_response(),
    };
    response.extensions_mut().insert(ProxyTarget {
        base_url,
        service: "opencode-router",
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn the_policy_follows_the_contract_table() {
        let get = Method::GET;
        for (path, expected) in [
            ("", Policy::Client),
            ("/", Policy::Client),
            ("/health", Policy::Client),
            ("/health/", Policy::Client),
            ("/bindings", Policy::Collaborator),
            ("/identities/telegram", Policy::Collaborator),
            ("/identities/slack/", Policy::Collaborator),
            ("/identities", Policy::Host),
            ("/config", Policy::Host),
        ] {
            assert_eq!(policy(&get, path), expected, "{path:?}");
        }
        assert_eq!(policy(&Method::HEAD, "/health"), Policy::Host);
        assert_eq!(policy(&Method::POST, ""), Policy::Host);
    }
}
