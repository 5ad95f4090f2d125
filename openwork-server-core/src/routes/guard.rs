//! Access to one workspace, as extractors: [`ReadAccess`] for reads (any bearer) and
//! [`WriteAccess`] for writes, which also carries the write pipeline every workspace write
//! goes through: approval first, then the write, then the audit line and the reload event.
//!
//! The checks run in the reference's order: bearer (401), read-only (403 `read_only`),
//! scope (403 `forbidden`), workspace (404/403), then the body in the handler.

use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde_json::json;
use std::collections::HashMap;

use super::ensure_writable;
use crate::approvals::{ApprovalAsk, DenyReason};
use crate::auth::extract::ClientAuth;
use crate::auth::{Actor, Scope};
use crate::error::ApiError;
use crate::events::{Origin, ReloadReason, ReloadTrigger};
use crate::fs::atomic::{FileMode, write_atomic};
use crate::fs::confine::PathError;
use crate::pipeline::extract::invalid_path_encoding;
use crate::state::AppState;
use crate::workspace::Workspace;

/// The `{id}` path parameter, decoded.
async fn workspace_id(parts: &mut Parts) -> Result<String, ApiError> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, &())
        .await
        .map_err(|_| invalid_path_encoding())?;
    params.get("id").cloned().ok_or_else(ApiError::not_found)
}

/// A caller allowed to read a workspace (any valid bearer).
#[derive(Debug, Clone)]
pub(crate) struct ReadAccess {
    /// The workspace.
    pub(crate) workspace: Workspace,
}

impl FromRequestParts<AppState> for ReadAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        ClientAuth::from_request_parts(parts, state).await?;
        let id = workspace_id(parts).await?;
        let workspace = state.resolve_workspace(&id)?;
        Ok(Self { workspace })
    }
}

/// A caller allowed to write a workspace, with the write pipeline.
#[derive(Clone)]
pub(crate) struct WriteAccess {
    /// The server's services.
    pub(crate) state: AppState,
    /// Who calls.
    pub(crate) actor: Actor,
    /// The workspace.
    pub(crate) workspace: Workspace,
}

impl FromRequestParts<AppState> for WriteAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ClientAuth(actor) = ClientAuth::from_request_parts(parts, state).await?;
        ensure_writable(state)?;
        actor.require(Scope::Collaborator)?;
        let id = workspace_id(parts).await?;
        let workspace = state.resolve_workspace(&id)?;
        Ok(Self {
            state: state.clone(),
            actor,
            workspace,
        })
    }
}

impl WriteAccess {
    /// Asks the host. A denial or timeout is `403 write_denied` with the request id and
    /// reason; nothing may be written after that.
    pub(crate) async fn approve(
        &self,
        action: &str,
        summary: impl Into<String>,
        paths: Vec<String>,
    ) -> Result<(), ApiError> {
        let outcome = self
            .state
            .approvals
            .ask(ApprovalAsk {
                workspace_id: self.workspace.id.clone(),
                action: action.to_owned(),
                summary: summary.into(),
                paths,
                actor: self.actor.clone(),
            })
            .await;
        match outcome.denied {
            None => Ok(()),
            Some(reason) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "write_denied",
                "Write request denied",
            )
            .with_details(json!({
                "requestId": outcome.id,
                "reason": match reason {
                    DenyReason::Denied => "denied",
                    DenyReason::Timeout => "timeout",
                },
            }))),
        }
    }

    /// Appends the audit line for a completed write.
    pub(crate) async fn audit(
        &self,
        action: &str,
        target: impl Into<String>,
        summary: impl Into<String>,
    ) {
        self.state
            .audit
            .record(
                &self.workspace,
                &self.actor,
                action,
                target.into(),
                summary.into(),
            )
            .await;
    }

    /// Publishes a reload event for this workspace.
    pub(crate) fn reload(&self, reason: ReloadReason, trigger: Option<ReloadTrigger>) {
        self.state
            .events
            .record(&self.workspace.id, reason, trigger, Origin::Api);
    }

    /// Writes a file atomically (ordinary permissions), off the async threads.
    pub(crate) async fn write_file(
        &self,
        path: impl Into<std::path::PathBuf>,
        bytes: impl Into<Vec<u8>>,
    ) -> Result<(), ApiError> {
        write_file(path.into(), bytes.into()).await
    }
}

/// Writes a file atomically (ordinary permissions), off the async threads.
pub(crate) async fn write_file(path: std::path::PathBuf, bytes: Vec<u8>) -> Result<(), ApiError> {
    tokio::task::spawn_blocking(move || write_atomic(&path, &bytes, FileMode::Default))
        .await
        .map_err(ApiError::internal)?
        .map_err(write_error)
}

/// The answer for a failed write. A file where a folder must go, or a folder where the file
/// must go, is the state of the workspace the client works on: `400 invalid_path`, not an
/// internal error.
pub(crate) fn write_error(error: std::io::Error) -> ApiError {
    match error.kind() {
        std::io::ErrorKind::NotADirectory => PathError::ThroughFile.into(),
        std::io::ErrorKind::IsADirectory => PathError::NotAFile.into(),
        _ => ApiError::internal(error),
    }
}
