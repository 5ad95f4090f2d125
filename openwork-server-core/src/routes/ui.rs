//! The toy UI (contract §10.4): `GET /ui`, `GET /w/:id/ui` and `GET /ui/assets/:name`, a
//! small static page of our own that drives the public API from the browser with a token
//! taken from the URL fragment. No auth: the page holds no secret, the API calls it makes do.
//!
//! The assets are compiled into the binary so the server needs no files beside it. The
//! `OPENWORK_TOY_UI` switch is read on every request, like the reference.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Switches;
use crate::error::ApiError;
use crate::pipeline::extract::PathParams;
use crate::state::AppState;

use super::openapi::params::WorkspaceId;
use super::openapi::schemas::ErrorBody;

/// The page itself, served for `/ui` and `/w/:id/ui` alike.
const INDEX_HTML: &str = include_str!("../../assets/ui/index.html");

/// One file under `/ui/assets/`.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// The only assets there are; any other name is a plain 404.
const ASSETS: [Asset; 3] = [
    Asset {
        name: "toy.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../assets/ui/toy.css"),
    },
    Asset {
        name: "toy.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/ui/toy.js"),
    },
    Asset {
        name: "openwork-mark.svg",
        content_type: "image/svg+xml; charset=utf-8",
        body: include_str!("../../assets/ui/openwork-mark.svg"),
    },
];

/// This resource's routes. `HEAD` is answered by the same handlers without a body (D13).
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_page))
        .routes(routes!(get_mounted_page))
        .routes(routes!(get_asset))
}

/// `404 ui_disabled` unless `OPENWORK_TOY_UI` is on right now.
fn ensure_enabled(state: &AppState) -> Result<(), ApiError> {
    if Switches::read(&state.env).toy_ui {
        return Ok(());
    }
    Err(ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "ui_disabled",
        "Toy UI is disabled",
    ))
}

/// A static body with its type; never cached, so a server upgrade is picked up at once.
fn static_response(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// SECURITY: the page holds a bearer token and offers Allow buttons for approvals, so it
/// may load and call only its own origin, and no other site may frame it (clickjacking).
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The HTML page.
#[utoipa::path(
    get,
    path = "/ui",
    summary = "Toy UI page",
    description = "A static page that drives this API from the browser with a token taken from the URL fragment (`#token=…`). Off when `OPENWORK_TOY_UI` is falsy (read per request).",
    tag = "ui",
    responses(
        (status = 200, description = "The page", content_type = "text/html; charset=utf-8", body = String),
        (status = 404, description = "- `ui_disabled`: Toy UI is disabled", body = ErrorBody),
    ),
)]
async fn get_page(State(state): State<AppState>) -> Result<Response, ApiError> {
    page(&state)
}

/// The same page under a workspace mount. The id is not checked: the page reads it from
/// its own path and the API answers for unknown ids.
#[utoipa::path(
    get,
    path = "/w/{id}/ui",
    summary = "Toy UI page (workspace mount)",
    description = "The same page, working on the workspace named in the path; the id is not checked.",
    tag = "ui",
    params(WorkspaceId),
    responses(
        (status = 200, description = "The page", content_type = "text/html; charset=utf-8", body = String),
        (status = 404, description = "- `ui_disabled`: Toy UI is disabled", body = ErrorBody),
    ),
)]
async fn get_mounted_page(State(state): State<AppState>) -> Result<Response, ApiError> {
    page(&state)
}

/// The page with its security headers.
fn page(state: &AppState) -> Result<Response, ApiError> {
    ensure_enabled(state)?;
    let mut response = static_response("text/html; charset=utf-8", INDEX_HTML);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// One of the three assets; an unknown name is `404 not_found` whether or not the UI is on,
/// as if the route did not exist.
#[utoipa::path(
    get,
    path = "/ui/assets/{name}",
    summary = "Toy UI asset",
    tag = "ui",
    params(("name" = String, Path, description = "`toy.css`, `toy.js` or `openwork-mark.svg`")),
    responses(
        (status = 200, description = "The asset", content(
            (String = "text/css; charset=utf-8"),
            (String = "text/javascript; charset=utf-8"),
            (String = "image/svg+xml; charset=utf-8"),
        )),
        (status = 404, description = "- `not_found`: Not found (any other name)\n- `ui_disabled`: Toy UI is disabled", body = ErrorBody),
    ),
)]
async fn get_asset(
    State(state): State<AppState>,
    PathParams(name): PathParams<String>,
) -> Result<Response, ApiError> {
    let asset = ASSETS
        .iter()
        .find(|asset| asset.name == name)
        .ok_or_else(ApiError::not_found)?;
    ensure_enabled(&state)?;
    Ok(static_response(asset.content_type, asset.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_links_only_its_own_assets() {
        assert!(INDEX_HTML.contains("<title>OpenWork Toy UI</title>"));
        for asset in &ASSETS {
            assert!(!asset.body.is_empty(), "{} is empty", asset.name);
        }
        // No external resources: the page must work on a machine without network.
        for link in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
            assert!(
                !INDEX_HTML.contains(link),
                "external resource in index.html: {link}"
            );
        }
        assert!(!ASSETS[0].body.contains("url(http") && !ASSETS[0].body.contains("@import"));
        assert!(
            !ASSETS[1].body.contains("://"),
            "toy.js must only call its own origin"
        );
    }
}
