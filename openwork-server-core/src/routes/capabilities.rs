//! `GET /capabilities` and `GET /w/:id/capabilities` (contract §4.3): what this server can
//! do for the caller right now. Switches are read per request.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::openapi::params::WorkspaceId;
use super::openapi::schemas;
use crate::VERSION;
use crate::auth::extract::ClientAuth;
use crate::config::Switches;
use crate::state::AppState;

/// The capability document.
#[utoipa::path(
    get,
    path = "/capabilities",
    summary = "What this server can do",
    tag = "status",
    security(("bearer" = ["viewer"])),
    responses((status = 200, description = "What this server can do now", body = schemas::server::Capabilities)),
)]
pub(super) async fn get_capabilities(
    State(state): State<AppState>,
    ClientAuth(_actor): ClientAuth,
) -> Json<Value> {
    capabilities(&state)
}

/// The same under a workspace mount; the id is not checked.
#[utoipa::path(
    get,
    path = "/w/{id}/capabilities",
    summary = "What this server can do (workspace mount)",
    tag = "status",
    params(WorkspaceId),
    security(("bearer" = ["viewer"])),
    responses((status = 200, description = "What this server can do now (any id)", body = schemas::server::Capabilities)),
)]
pub(super) async fn get_mounted_capabilities(
    State(state): State<AppState>,
    ClientAuth(_actor): ClientAuth,
) -> Json<Value> {
    capabilities(&state)
}

fn capabilities(state: &AppState) -> Json<Value> {
    let switches = Switches::read(&state.env);
    let writable = !state.config.read_only;
    let opencode_proxy = state.workspaces().items.iter().any(|ws| {
        ws.config
            .base_url
            .as_deref()
            .is_some_and(|url| !url.trim().is_empty())
    });
    Json(json!({
        "schemaVersion": 1,
        "serverVersion": VERSION,
        "skills": { "read": true, "write": writable, "source": "openwork" },
        "hub": { "skills": {
            "read": true,
            "install": writable,
            "repo": { "owner": "different-ai", "name": "openwork-hub", "ref": "main" },
        } },
        "plugins": { "read": true, "write": writable },
        "mcp": { "read": true, "write": writable },
        "commands": { "read": true, "write": writable },
        "config": { "read": true, "write": writable },
        "approvals": {
            "mode": state.config.approval.mode.as_str(),
            "timeoutMs": state.config.approval.timeout_ms,
        },
        "sandbox": { "enabled": switches.sandbox_enabled, "backend": switches.sandbox_backend },
        "ui": { "toy": switches.toy_ui },
        "tokens": { "scoped": true, "scopes": ["owner", "collaborator", "viewer"] },
        "proxy": {
            "opencode": opencode_proxy,
            "opencodeRouter": switches.router_health_port.is_some(),
        },
        "toolProviders": {
            "browser": {
                "enabled": switches.browser.enabled,
                "placement": switches.browser.placement,
                "mode": switches.browser.mode,
            },
            "files": {
                "injection": writable && switches.inbox_enabled,
                "outbox": switches.outbox_enabled,
                "inboxPath": ".opencode/openwork/inbox/",
                "outboxPath": ".opencode/openwork/outbox/",
                "maxBytes": switches.inbox_max_bytes,
            },
        },
    }))
}
