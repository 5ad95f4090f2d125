//! How approval requests reach a person: a native dialog, the app's own webview, or a
//! prompter the app supplies.

pub(crate) mod native;
pub(crate) mod webview;

use std::sync::Arc;

use crate::ApprovalPrompter;

/// Who answers the server's approval requests.
#[derive(Clone, Default)]
pub enum ApprovalUi {
    /// A native "Allow" / "Deny" dialog per request, one after another (the default). Needs
    /// `tauri-plugin-dialog` registered before this plugin.
    #[default]
    NativeDialog,
    /// The app's own UI: the plugin emits `openwork://approval-requested` and
    /// `openwork://approval-resolved`; the frontend answers with `respond_approval`.
    Webview,
    /// The app's own prompter.
    Custom(Arc<dyn ApprovalPrompter>),
}

impl std::fmt::Debug for ApprovalUi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NativeDialog => "NativeDialog",
            Self::Webview => "Webview",
            Self::Custom(_) => "Custom",
        })
    }
}
