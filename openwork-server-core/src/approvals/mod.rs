//! The approval gate (contract §5): every workspace write asks it first. In `auto` mode it
//! allows at once; in `manual` mode the write waits until a host replies or the timeout
//! denies it (fail closed). Pending requests live in memory only.

mod prompter;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

pub use prompter::ApprovalPrompter;

use crate::auth::Actor;
use crate::state::now_ms;

/// How writes are approved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalMode {
    /// Every write waits for a host's reply.
    #[default]
    Manual,
    /// Every write is allowed at once.
    Auto,
}

impl ApprovalMode {
    /// `manual` or `auto`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Auto => "auto",
        }
    }

    /// Parses exactly `manual` or `auto`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "manual" => Some(Self::Manual),
            "auto" => Some(Self::Auto),
            _ => None,
        }
    }
}

/// What a write route asks the host to approve.
#[derive(Clone, Debug)]
pub struct ApprovalAsk {
    /// The workspace written to.
    pub workspace_id: String,
    /// The action name, equal to the audit action (e.g. `plugins.add`).
    pub action: String,
    /// One line for the host (e.g. `Add plugin opencode-foo`).
    pub summary: String,
    /// Absolute host paths the write touches.
    pub paths: Vec<String>,
    /// Who asks.
    pub actor: Actor,
}

/// A pending request as `GET /approvals` lists it (key order as the reference).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRequest {
    /// The workspace written to.
    pub workspace_id: String,
    /// The action name.
    pub action: String,
    /// One line for the host.
    pub summary: String,
    /// Absolute host paths the write touches.
    pub paths: Vec<String>,
    /// Who asks.
    pub actor: Actor,
    /// Request id (a UUID), used to reply.
    pub id: String,
    /// When it was raised, epoch milliseconds.
    pub created_at: u64,
}

/// Why a write was denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DenyReason {
    /// A host said no.
    Denied,
    /// Nobody answered in time.
    Timeout,
}

/// The gate's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalOutcome {
    /// The request id (`auto` in auto mode).
    pub id: String,
    /// `None` when allowed.
    pub denied: Option<DenyReason>,
}

impl ApprovalOutcome {
    /// Whether the write may proceed.
    pub fn allowed(&self) -> bool {
        self.denied.is_none()
    }
}

/// The approval service: cheap to clone, shared by every route and by the host's prompter.
#[derive(Clone)]
pub struct Approvals {
    inner: Arc<Inner>,
}

struct Inner {
    mode: ApprovalMode,
    timeout: Duration,
    /// Pending requests in the order they were raised, with the channel that wakes the write.
    pending: Mutex<IndexMap<String, Pending>>,
    /// Told about every request so a host UI can ask a person; replies come back through
    /// [`Approvals::respond`].
    prompter: Option<Arc<dyn ApprovalPrompter>>,
    /// Cancelled when the server shuts down: waiting writes are denied at once rather than
    /// holding shutdown open until their timeout.
    shutdown: CancellationToken,
}

struct Pending {
    request: ApprovalRequest,
    reply: oneshot::Sender<bool>,
}

impl std::fmt::Debug for Approvals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Approvals")
            .field("mode", &self.inner.mode)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl Approvals {
    /// A gate with the given mode, timeout and optional prompter.
    pub fn new(
        mode: ApprovalMode,
        timeout: Duration,
        prompter: Option<Arc<dyn ApprovalPrompter>>,
    ) -> Self {
        Self::with_shutdown(mode, timeout, prompter, CancellationToken::new())
    }

    /// Like [`Approvals::new`]; cancelling `shutdown` denies every waiting request.
    pub fn with_shutdown(
        mode: ApprovalMode,
        timeout: Duration,
        prompter: Option<Arc<dyn ApprovalPrompter>>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                mode,
                timeout,
                pending: Mutex::new(IndexMap::new()),
                prompter,
                shutdown,
            }),
        }
    }

    /// The configured mode.
    pub fn mode(&self) -> ApprovalMode {
        self.inner.mode
    }

    /// The configured timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Asks for approval and waits for the answer. If the returned future is dropped (the
    /// client went away), the request is withdrawn from the pending list at once.
    pub async fn ask(&self, ask: ApprovalAsk) -> ApprovalOutcome {
        if self.inner.mode == ApprovalMode::Auto {
            return ApprovalOutcome {
                id: "auto".to_owned(),
                denied: None,
            };
        }
        let request = ApprovalRequest {
            workspace_id: ask.workspace_id,
            action: ask.action,
            summary: ask.summary,
            paths: ask.paths,
            actor: ask.actor,
            id: uuid::Uuid::new_v4().to_string(),
            created_at: now_ms(),
        };
        let id = request.id.clone();
        let (tx, rx) = oneshot::channel();
        self.lock().insert(
            id.clone(),
            Pending {
                request: request.clone(),
                reply: tx,
            },
        );
        let guard = Withdraw {
            approvals: self,
            id: &id,
        };
        if let Some(prompter) = &self.inner.prompter {
            prompter.request_opened(&request, self);
        }
        let denied = tokio::select! {
            reply = tokio::time::timeout(self.inner.timeout, rx) => match reply {
                Ok(Ok(true)) => None,
                Ok(Ok(false)) => Some(DenyReason::Denied),
                // The sender only disappears with the service itself: fail closed.
                Ok(Err(_)) => Some(DenyReason::Denied),
                Err(_) => Some(DenyReason::Timeout),
            },
            () = self.inner.shutdown.cancelled() => Some(DenyReason::Denied),
        };
        drop(guard);
        ApprovalOutcome { id, denied }
    }

    /// Pending requests, oldest first.
    pub fn pending(&self) -> Vec<ApprovalRequest> {
        self.lock().values().map(|p| p.request.clone()).collect()
    }

    /// Answers a pending request. Returns `false` when no such request is pending (unknown,
    /// already answered, timed out or withdrawn).
    pub fn respond(&self, id: &str, allow: bool) -> bool {
        let Some(pending) = self.lock().shift_remove(id) else {
            return false;
        };
        // The waiting write may have been dropped a moment ago; then nobody needs the answer.
        let _ = pending.reply.send(allow);
        if let Some(prompter) = &self.inner.prompter {
            prompter.request_closed(id);
        }
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IndexMap<String, Pending>> {
        // A panic while holding the lock cannot leave the map half-updated.
        self.inner
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes a request that is still pending when its waiter stops waiting (timeout or a
/// dropped future), and tells the prompter so a dialog for it can close.
struct Withdraw<'a> {
    approvals: &'a Approvals,
    id: &'a str,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        let removed = self.approvals.lock().shift_remove(self.id).is_some();
        if removed {
            if let Some(prompter) = &self.approvals.inner.prompter {
                prompter.request_closed(self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests;
