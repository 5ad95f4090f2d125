//! Approval requests on the terminal: the headless server has no dialog to show, so each
//! pending write is printed with the commands a host runs to answer it.

use openwork_server_core::{ApprovalPrompter, ApprovalRequest, Approvals};
use std::sync::OnceLock;

const TARGET: &str = "openwork_server::approvals";

/// Prints approval requests and how to answer them.
#[derive(Debug, Default)]
pub(crate) struct TerminalPrompter {
    /// `http://host:port`, known once the server is bound.
    base_url: OnceLock<String>,
}

impl TerminalPrompter {
    /// Records where the server listens, for the printed commands.
    pub(crate) fn set_base_url(&self, base_url: String) {
        let _ = self.base_url.set(base_url);
    }

    fn reply_command(&self, id: &str, reply: &str) -> String {
        let base = self
            .base_url
            .get()
            .map_or("http://127.0.0.1:8787", String::as_str);
        // SECURITY: the host token is never printed here; the host exports it themselves.
        format!(
            "curl -sS -X POST -H \"X-OpenWork-Host-Token: $OPENWORK_HOST_TOKEN\" -H 'Content-Type: application/json' -d '{{\"reply\":\"{reply}\"}}' {base}/approvals/{id}"
        )
    }
}

impl ApprovalPrompter for TerminalPrompter {
    fn request_opened(&self, request: &ApprovalRequest, _approvals: &Approvals) {
        tracing::info!(
            target: TARGET,
            "Approval needed: {} ({}) in workspace {} [request {}]",
            request.summary,
            request.action,
            request.workspace_id,
            request.id
        );
        for path in &request.paths {
            tracing::info!(target: TARGET, "  path: {path}");
        }
        tracing::info!(target: TARGET, "  allow: {}", self.reply_command(&request.id, "allow"));
        tracing::info!(target: TARGET, "  deny:  {}", self.reply_command(&request.id, "deny"));
    }

    fn request_closed(&self, id: &str) {
        tracing::info!(target: TARGET, "Approval request {id} closed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_name_the_request_and_never_the_token() {
        let prompter = TerminalPrompter::default();
        prompter.set_base_url("http://127.0.0.1:9000".into());
        let command = prompter.reply_command("abc", "allow");
        assert!(
            command.ends_with("http://127.0.0.1:9000/approvals/abc"),
            "{command}"
        );
        assert!(command.contains("{\"reply\":\"allow\"}"));
        assert!(command.contains("$OPENWORK_HOST_TOKEN"));
    }
}
