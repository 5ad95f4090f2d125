//! What the commands and events carry to the app's frontend.

use serde::{Deserialize, Serialize};

pub use openwork_server_core::ApprovalRequest;
pub use openwork_server_core::tokens::IssuedToken;

/// Event emitted (webview approval mode) when a write waits for the host's answer; the
/// payload is the [`ApprovalRequest`] as `GET /approvals` lists it.
pub const APPROVAL_REQUESTED_EVENT: &str = "openwork://approval-requested";

/// Event emitted (webview approval mode) when a request is no longer pending: answered,
/// timed out or withdrawn. The payload is an [`ApprovalResolved`].
pub const APPROVAL_RESOLVED_EVENT: &str = "openwork://approval-resolved";

/// Where the in-process server listens and how to call it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    /// `http://127.0.0.1:<port>` (a wildcard bind address is reported as loopback).
    pub base_url: String,
    /// Workspace ids in order; the first is the active one.
    pub workspace_ids: Vec<String>,
    /// The client token (scope collaborator), sent as `Authorization: Bearer`.
    pub token: String,
    /// The host token (`X-OpenWork-Host-Token`); present only for the app's own pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_token: Option<String>,
}

/// Payload of [`APPROVAL_RESOLVED_EVENT`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalResolved {
    /// The request id.
    pub id: String,
}
