//! `GET /openapi.json`: the OpenAPI 3.1 description of every route, generated from the
//! route table itself.
//!
//! Every route is registered through `utoipa_axum`'s `routes!` from a handler annotated
//! with `#[utoipa::path]`, so the router and the document come from the same list (see
//! `routes::api_router`). The document is rendered once, on the first request, and served
//! as shared bytes afterwards; `docs/openapi.json` is a checked-in copy kept equal by a test.

pub(crate) mod errors;
pub(crate) mod params;
pub(crate) mod schemas;

mod complete;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::LazyLock;
use utoipa::PartialSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::VERSION;
use crate::state::AppState;

/// The `/openapi.json` route.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_openapi))
}

/// The rendered document, built on first use.
static DOCUMENT: LazyLock<Bytes> = LazyLock::new(|| Bytes::from(render()));

/// This document. No auth, like `/health`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    summary = "This OpenAPI document",
    tag = "meta",
    responses((
        status = 200,
        description = "The OpenAPI 3.1 document of this server (also in `docs/openapi.json`)",
        content_type = "application/json",
        body = Object,
    )),
)]
pub(super) async fn get_openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.clone(),
    )
        .into_response()
}

const DESCRIPTION: &str = "\
The OpenWork server: a filesystem-backed HTTP API in front of an OpenCode workspace.

**Auth.** Client routes take `Authorization: Bearer <token>`: the server's client token \
(scope `collaborator`) or a scoped token from `POST /tokens` (`owner`, `collaborator` or \
`viewer`). The scope a route needs at least is listed in its `bearer` security requirement. \
Host routes take the host token in `X-OpenWork-Host-Token`, or an `owner` bearer token. \
After 20 failed authentications within 60 s, a client address gets `429 rate_limited` on \
every request carrying credentials until the window passes.

**Errors.** Every error is JSON `{\"code\", \"message\", \"details\"?}`; the codes each \
status can carry are listed per response. Unknown paths and unsupported methods answer \
`404 not_found` before any auth check.

**Requests.** `OPTIONS` on any path answers `204` (CORS preflight). `HEAD` is answered \
like `GET`, without a body. `/w/{id}/workspace/{id}/…` is the same as `/workspace/{id}/…` \
when both ids match, `404 not_found` otherwise. Workspace writes go through the host's \
approval gate; `x-openwork-access` says which workspace checks an operation makes.";

/// The tags, in reading order.
fn tags() -> Value {
    let tag = |name: &str, description: &str| json!({ "name": name, "description": description });
    json!([
        tag("meta", "This document"),
        tag("health", "Liveness"),
        tag("status", "Server state, capabilities and the caller"),
        tag("workspaces", "Listing and managing workspaces"),
        tag("tokens", "Scoped bearer tokens (host)"),
        tag("approvals", "Pending write requests (host)"),
        tag("config", "Project OpenCode config and openwork.json"),
        tag("plugins", "OpenCode plugins"),
        tag("skills", "Skills (SKILL.md)"),
        tag("mcp", "MCP servers"),
        tag("commands", "Commands"),
        tag("audit", "Audit log"),
        tag("events", "Reload events"),
        tag("engine", "The workspace's OpenCode engine"),
        tag("portable", "Export and import of a workspace's setup"),
        tag("inbox", "Files uploaded to the workspace"),
        tag("artifacts", "Files the agent left in the outbox"),
        tag("file-sessions", "Batch file access with a live catalog"),
        tag("files", "Markdown files, read and written whole"),
        tag("sessions", "OpenCode sessions, read model"),
        tag("proxy", "OpenCode and OpenCodeRouter, proxied"),
        tag(
            "runtime",
            "Runtime versions and upgrades, relayed to the host orchestrator"
        ),
        tag("ui", "The toy UI (static pages, no auth)"),
    ])
}

fn security_schemes() -> Value {
    json!({
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "The client token (scope `collaborator`) or a scoped `owt_…` token \
                (`owner`, `collaborator` or `viewer`). Requirements name the least scope a \
                route accepts.",
        },
        "hostToken": {
            "type": "apiKey",
            "in": "header",
            "name": "X-OpenWork-Host-Token",
            "description": "The host token. Host routes also accept an `owner` bearer token.",
        },
    })
}

/// The whole document as JSON: generated paths and schemas, finished with what is common
/// to every route.
pub(crate) fn document() -> Value {
    let generated = super::api_router().into_openapi();
    let mut document = serde_json::to_value(&generated).expect("the document serialises");
    document["info"] = json!({
        "title": "OpenWork server",
        "description": DESCRIPTION,
        "version": VERSION,
        "license": { "name": "MIT", "identifier": "MIT" },
    });
    document["tags"] = tags();
    let components = document
        .as_object_mut()
        .expect("the document is an object")
        .entry("components")
        .or_insert_with(|| json!({}));
    components["securitySchemes"] = security_schemes();
    let schemas = components
        .as_object_mut()
        .expect("components is an object")
        .entry("schemas")
        .or_insert_with(|| json!({}));
    schemas["ErrorBody"] =
        serde_json::to_value(schemas::ErrorBody::schema()).expect("the schema serialises");
    complete::complete(&mut document);
    let Value::Object(mut sorted) = stable(document) else {
        unreachable!("the document is an object");
    };
    let mut ordered = serde_json::Map::new();
    for key in ["openapi", "info", "tags", "paths", "components"] {
        if let Some(value) = sorted.remove(key) {
            ordered.insert(key.to_owned(), value);
        }
    }
    ordered.extend(sorted);
    Value::Object(ordered)
}

/// Sorts the keys of every object, so the document is the same bytes on every run (some
/// generated maps, such as extensions, are hash maps). The top level keeps the usual order.
fn stable(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            Value::Object(entries.into_iter().map(|(k, v)| (k, stable(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(stable).collect()),
        other => other,
    }
}

/// The document as served and checked in: pretty JSON with a final newline.
pub(crate) fn render() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("the document serialises");
    text.push('\n');
    text
}
