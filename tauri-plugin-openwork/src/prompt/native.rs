//! Native approvals: one "Allow" / "Deny" dialog per request, shown one after another.
//!
//! Fail closed: Escape, closing the dialog, a missing display (the dialog never answers) and
//! the server's approval timeout all end in a denial. A request answered elsewhere
//! (`POST /approvals/:id`, the timeout) closes its dialog and the next one is shown.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use tauri::{AppHandle, Runtime};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};

use crate::{ApprovalPrompter, ApprovalRequest, Approvals};

/// The start of every approval dialog's title (tests and window tools find it by this).
pub const DIALOG_TITLE: &str = "OpenWork approval";

/// Shows each pending request in a native message dialog.
pub(crate) struct NativePrompter<R: Runtime> {
    app: AppHandle<R>,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    /// Requests not shown yet, oldest first, with the gate that takes their answer.
    waiting: VecDeque<(ApprovalRequest, Approvals)>,
    /// The request whose dialog is up.
    showing: Option<String>,
}

impl<R: Runtime> NativePrompter<R> {
    pub(crate) fn new(app: AppHandle<R>) -> Self {
        Self {
            app,
            queue: Mutex::new(Queue::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shows the oldest waiting request unless a dialog is already up.
    fn show_next(&self) {
        let (request, approvals) = {
            let mut queue = self.lock();
            if queue.showing.is_some() {
                return;
            }
            let Some(next) = queue.waiting.pop_front() else {
                return;
            };
            queue.showing = Some(next.0.id.clone());
            next
        };
        let id = request.id.clone();
        self.app
            .dialog()
            .message(dialog_text(&request))
            .title(dialog_title(&id))
            .kind(MessageDialogKind::Warning)
            .buttons(MessageDialogButtons::OkCancelCustom(
                "Allow".into(),
                "Deny".into(),
            ))
            .show(move |allowed| {
                // Escape and closing the window answer `false`. A dialog closed because the
                // request ended elsewhere answers too, but then `respond` finds nothing
                // pending and does nothing. Answering moves the queue on through
                // `request_closed`.
                approvals.respond(&id, allowed);
            });
    }
}

impl<R: Runtime> ApprovalPrompter for NativePrompter<R> {
    fn request_opened(&self, request: &ApprovalRequest, approvals: &Approvals) {
        self.lock()
            .waiting
            .push_back((request.clone(), approvals.clone()));
        // A reply can land between the gate raising the request and this call; its close
        // notice then came before the request was queued, and the queue must not wait on it.
        if !approvals.pending().iter().any(|p| p.id == request.id) {
            self.request_closed(&request.id);
            return;
        }
        self.show_next();
    }

    fn request_closed(&self, id: &str) {
        let was_showing = {
            let mut queue = self.lock();
            if queue.showing.as_deref() == Some(id) {
                queue.showing = None;
                true
            } else {
                queue.waiting.retain(|(request, _)| request.id != id);
                false
            }
        };
        if was_showing {
            close_dialog(dialog_title(id));
            self.show_next();
        }
    }
}

/// One title per request, so closing one dialog never closes the next.
fn dialog_title(id: &str) -> String {
    let short: String = id.chars().take(8).collect();
    format!("{DIALOG_TITLE} {short}")
}

/// What the person reads: the action, the workspace and every path.
fn dialog_text(request: &ApprovalRequest) -> String {
    let mut text = format!(
        "{}\n\nAction: {}\nWorkspace: {}",
        request.summary, request.action, request.workspace_id
    );
    if !request.paths.is_empty() {
        text.push_str("\nPaths:");
        for path in &request.paths {
            text.push_str("\n  ");
            text.push_str(path);
        }
    }
    text.push_str("\n\nAllow this change?");
    text
}

/// Closes the dialog with this title, if it is still up. GTK may only be touched on the
/// thread that runs its main loop, so the work is queued there.
#[cfg(target_os = "linux")]
fn close_dialog(title: String) {
    use gtk::prelude::{Cast, GtkWindowExt};
    gtk::glib::idle_add_once(move || {
        // The default main loop runs where GTK was initialised: Tauri's main thread in an
        // app, the dialog library's own GTK thread otherwise. Never initialise it twice.
        if gtk::is_initialized() && !gtk::is_initialized_main_thread() {
            return;
        }
        if gtk::init().is_err() {
            return;
        }
        for widget in gtk::Window::list_toplevels() {
            if let Ok(window) = widget.downcast::<gtk::Window>() {
                if window.title().is_some_and(|t| t.as_str() == title) {
                    window.close();
                }
            }
        }
    });
}

/// Other platforms have no handle on the dialog: it stays up, and its late answer is
/// ignored because the request is no longer pending.
#[cfg(not(target_os = "linux"))]
fn close_dialog(_title: String) {}

#[cfg(test)]
mod tests {
    use super::*;
    use openwork_server_core::approvals::ApprovalAsk;
    use openwork_server_core::{Actor, ApprovalMode, Scope};
    use std::sync::Arc;
    use std::time::Duration;

    fn showing<R: Runtime>(prompter: &NativePrompter<R>) -> Option<String> {
        prompter.lock().showing.clone()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_request_answered_before_it_was_queued_never_blocks_the_queue() {
        let app = tauri::test::mock_builder()
            .plugin(tauri_plugin_dialog::init())
            .build(tauri::test::mock_context(tauri::test::noop_assets()))
            .unwrap();
        let prompter = Arc::new(NativePrompter::new(app.handle().clone()));
        let approvals = Approvals::new(
            ApprovalMode::Manual,
            Duration::from_secs(30),
            Some(prompter.clone()),
        );
        // Its close notice came first: the request is no longer pending when it arrives.
        let gone = ApprovalRequest {
            workspace_id: "ws_1".into(),
            action: "skills.upsert".into(),
            summary: "Upsert skill gone".into(),
            paths: Vec::new(),
            actor: Actor::remote("t", Scope::Collaborator, None),
            id: "gone".into(),
            created_at: 0,
        };
        prompter.request_opened(&gone, &approvals);
        assert_eq!(showing(&prompter), None);
        assert!(prompter.lock().waiting.is_empty());

        // The next request is shown at once, and answering it clears the queue.
        let ask = tokio::spawn({
            let approvals = approvals.clone();
            async move {
                approvals
                    .ask(ApprovalAsk {
                        workspace_id: "ws_1".into(),
                        action: "skills.upsert".into(),
                        summary: "Upsert skill next".into(),
                        paths: Vec::new(),
                        actor: Actor::remote("t", Scope::Collaborator, None),
                    })
                    .await
            }
        });
        let mut id = None;
        for _ in 0..100 {
            id = showing(&prompter);
            if id.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let id = id.expect("the next request is shown");
        assert!(approvals.respond(&id, true));
        assert!(ask.await.unwrap().allowed());
        assert_eq!(showing(&prompter), None);
    }

    #[test]
    fn the_dialog_names_action_workspace_and_paths() {
        let request = ApprovalRequest {
            workspace_id: "ws_123".into(),
            action: "skills.upsert".into(),
            summary: "Write skill demo".into(),
            paths: vec!["/w/.opencode/skills/demo/SKILL.md".into()],
            actor: Actor::remote("t", Scope::Collaborator, None),
            id: "0123456789abcdef".into(),
            created_at: 0,
        };
        let text = dialog_text(&request);
        assert!(text.starts_with("Write skill demo\n"), "{text}");
        assert!(text.contains("Action: skills.upsert"), "{text}");
        assert!(text.contains("Workspace: ws_123"), "{text}");
        assert!(
            text.contains("\n  /w/.opencode/skills/demo/SKILL.md"),
            "{text}"
        );
        assert_eq!(dialog_title(&request.id), "OpenWork approval 01234567");
    }
}
