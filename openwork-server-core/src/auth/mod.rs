//! Who is calling: bearer tokens and the host token resolve to an [`Actor`] with a
//! [`Scope`] (contract §3). Handlers never read auth headers; they take the extractors of
//! [`extract`] in their signatures.

pub(crate) mod extract;
pub(crate) mod limiter;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// What a token may do. Ordered: viewer < collaborator < owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read everything, write nothing.
    Viewer,
    /// Read and write workspaces.
    Collaborator,
    /// Everything, including host routes.
    Owner,
}

impl Scope {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Collaborator => "collaborator",
            Self::Owner => "owner",
        }
    }

    /// Parses `owner`, `collaborator` or `viewer`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "owner" => Some(Self::Owner),
            "collaborator" => Some(Self::Collaborator),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }
}

/// How the caller authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    /// A bearer token (the client token or a scoped token).
    Remote,
    /// The host token header.
    Host,
}

/// The caller, as recorded in approvals and audit lines (contract §3.2).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// `remote` or `host`.
    #[serde(rename = "type")]
    pub kind: ActorKind,
    /// The caller's `X-OpenWork-Client-Id`, if sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// SHA-256 hex of the token used; never the token itself.
    pub token_hash: String,
    /// What the caller may do.
    pub scope: Scope,
}

impl Actor {
    /// A bearer-token caller.
    pub fn remote(token: &str, scope: Scope, client_id: Option<String>) -> Self {
        Self {
            kind: ActorKind::Remote,
            client_id,
            token_hash: token_hash(token),
            scope,
        }
    }

    /// The host, authenticated by the host token.
    pub fn host(host_token: &str) -> Self {
        Self {
            kind: ActorKind::Host,
            client_id: None,
            token_hash: token_hash(host_token),
            scope: Scope::Owner,
        }
    }

    /// `403 forbidden` unless the caller's scope is at least `required`.
    pub fn require(&self, required: Scope) -> Result<(), ApiError> {
        if self.scope >= required {
            return Ok(());
        }
        Err(ApiError::new(
            http::StatusCode::FORBIDDEN,
            "forbidden",
            "Insufficient token scope",
        )
        .with_details(serde_json::json!({
            "required": required.as_str(),
            "scope": self.scope.as_str(),
        })))
    }
}

/// SHA-256 hex of a token: what the token store keeps and actors carry.
pub fn token_hash(token: &str) -> String {
    hex::encode(token_digest(token))
}

/// SHA-256 of a token.
pub(crate) fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_matches_the_reference_example() {
        assert_eq!(
            token_hash("client-tok"),
            "17486dc1e1c02c2a3e6f24deb3775461f585a1d8a412a72d36de1286af1a0828"
        );
    }

    #[test]
    fn scopes_rank_viewer_collaborator_owner() {
        let viewer = Actor::remote("t", Scope::Viewer, None);
        assert!(viewer.require(Scope::Viewer).is_ok());
        let error = viewer.require(Scope::Collaborator).unwrap_err();
        assert_eq!(error.status, 403);
        assert_eq!(
            *error.details.unwrap(),
            serde_json::json!({"required": "collaborator", "scope": "viewer"})
        );
        assert!(Actor::host("h").require(Scope::Owner).is_ok());
    }
}
