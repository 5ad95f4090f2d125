//! CORS exactly as contract §10.1: `*` in the list allows any origin (even without an
//! `Origin` header), otherwise an exact match is echoed, otherwise no CORS headers at all.
//! tower-http's `CorsLayer` differs in the `Vary` list and in how it answers non-preflight
//! `OPTIONS`, which clients of the reference can observe, so the rule is written out here.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

const ALLOW_HEADERS: &str = "Authorization, Content-Type, X-OpenWork-Host-Token, X-OpenWork-Client-Id, X-OpenCode-Directory, X-Opencode-Directory, x-opencode-directory";
const ALLOW_METHODS: &str = "GET,POST,PATCH,DELETE,OPTIONS";

/// The `Access-Control-Allow-Origin` value for a request, if its origin is allowed.
pub(super) fn allowed_origin(origins: &[String], request: &HeaderMap) -> Option<HeaderValue> {
    if origins.iter().any(|o| o == "*") {
        return Some(HeaderValue::from_static("*"));
    }
    request
        .get(header::ORIGIN)
        .filter(|origin| origins.iter().any(|o| o.as_bytes() == origin.as_bytes()))
        .cloned()
}

/// Adds the CORS headers, replacing any an upstream sent.
pub(super) fn apply(response: &mut Response, origin: HeaderValue) {
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
