//! CORS exactly as contract §10.1: `*` in the list allows any origin (even without an
//! `Origin` header), otherwise an exact match is echoed, otherwise no CORS headers at all.
//! tower-http's `CorsLayer` differs in the `Vary` list and in how it answers non-preflight
//! `OPTIONS`, which clients of the reference can observe, so the rule is written out here.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

const ALLOW_HEADERS: &str = "Authorization, Content-Type, X-OpenWork-Host-Token, X-OpenWork-Client-Id, X-OpenCode-Directory, X-Opencode-Directory, x-opencode-directory";
const ALLOW_METHODS: &str = "GET,POST,PATCH,DELETE,OPTIONS";

/// `OPTIONS` on any path: `204`, no auth, no body.
pub(super) async fn preflight(request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        return StatusCode::NO_CONTENT.into_response();
    }
    next.run(request).await
}

/// Adds the CORS headers to every response, errors and proxied responses included.
pub(super) async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let origins = &state.config.cors_origins;
    let allowed = if origins.iter().any(|o| o == "*") {
        Some(HeaderValue::from_static("*"))
    } else {
        request
            .headers()
            .get(header::ORIGIN)
            .filter(|origin| origins.iter().any(|o| o.as_bytes() == origin.as_bytes()))
            .cloned()
    };
    let mut response = next.run(request).await;
    if let Some(origin) = allowed {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}
