//! Webview approvals: each request becomes an event for the app's frontend, which answers
//! with the `respond_approval` command.

use tauri::{AppHandle, Emitter, Runtime};

use crate::models::{APPROVAL_REQUESTED_EVENT, APPROVAL_RESOLVED_EVENT, ApprovalResolved};
use crate::{ApprovalPrompter, ApprovalRequest, Approvals};

/// Emits approval events to every webview of the app.
pub(crate) struct WebviewPrompter<R: Runtime> {
    pub(crate) app: AppHandle<R>,
}

impl<R: Runtime> ApprovalPrompter for WebviewPrompter<R> {
    fn request_opened(&self, request: &ApprovalRequest, _approvals: &Approvals) {
        // With nobody listening the request simply times out and is denied (fail closed).
        if let Err(error) = self.app.emit(APPROVAL_REQUESTED_EVENT, request) {
            tracing::warn!(target: "openwork_server::desktop", "cannot emit approval request: {error}");
        }
    }

    fn request_closed(&self, id: &str) {
        let payload = ApprovalResolved { id: id.to_owned() };
        if let Err(error) = self.app.emit(APPROVAL_RESOLVED_EVENT, payload) {
            tracing::warn!(target: "openwork_server::desktop", "cannot emit approval resolution: {error}");
        }
    }
}
