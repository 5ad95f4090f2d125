//! The shapes of request and response bodies, for the OpenAPI document only.
//!
//! Handlers mostly build their JSON with `json!` (the field order and the omitted-when-absent
//! rules of the contract are easier to keep that way), so these types are never constructed:
//! they describe what the handlers send. The schema-driven fuzz run (`scripts/test-openapi`)
//! checks every answer against them.
//!
//! Conventions: a field that may be left out but is never `null` is a plain type with
//! `required = false`; a field that is always present but may be `null` is an `Option` with
//! `required = true`.

// Documentation-only shapes: never built, never read.
#![allow(dead_code)]

pub(crate) mod files;
pub(crate) mod opencode;
pub(crate) mod server;
pub(crate) mod workspace;

use serde_json::Value;
use utoipa::ToSchema;

/// The body of every JSON error (contract §3.5).
#[derive(ToSchema)]
pub(crate) struct ErrorBody {
    /// Stable machine-readable code, e.g. `workspace_not_found`.
    code: String,
    /// Human-readable message, stable for a given code.
    message: String,
    /// Structured details, for some codes only.
    #[schema(required = false)]
    details: Value,
}

/// `{"ok": true}`.
#[derive(ToSchema)]
pub(crate) struct Ok {
    /// Always `true`.
    ok: bool,
}

/// A scope of a bearer token, lowest first.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum Scope {
    /// Reads everything, writes nothing.
    Viewer,
    /// Reads and writes workspaces.
    Collaborator,
    /// Everything, including host routes.
    Owner,
}

/// The caller as recorded in approvals and audit lines (contract §3.2).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub(crate) struct Actor {
    /// `remote` for bearer tokens, `host` for the host token.
    #[schema(rename = "type", inline)]
    kind: ActorKind,
    /// The caller's `X-OpenWork-Client-Id`, when sent.
    #[schema(required = false)]
    client_id: String,
    /// SHA-256 hex of the token used.
    token_hash: String,
    /// What the caller may do.
    scope: Scope,
}

/// How the caller authenticated.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum ActorKind {
    /// A bearer token.
    Remote,
    /// The host token header.
    Host,
}

/// A JSON object passed through unchanged, e.g. the orchestrator control server's answers
/// and the upgrade request relayed to it.
#[derive(ToSchema)]
pub(crate) struct RelayedJson(std::collections::BTreeMap<String, Value>);
