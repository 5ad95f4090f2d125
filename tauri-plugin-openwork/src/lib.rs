//! Runs the OpenWork server inside a Tauri app and asks the host about every workspace write
//! with a native dialog.
//!
//! ```
//! fn with_openwork<R: tauri::Runtime>(app: tauri::Builder<R>) -> tauri::Builder<R> {
//!     app
//!         // Native approval dialogs come from the dialog plugin: register it first.
//!         .plugin(tauri_plugin_dialog::init())
//!         .plugin(tauri_plugin_openwork::init())
//! }
//! ```
//!
//! The server is bound while the app starts (its address and tokens are known when the
//! plugin's setup returns), runs on Tauri's async runtime and stops gracefully when the app
//! exits. The app's frontend calls the commands in [`commands`](crate#commands) through the
//! `openwork:default` permission; Rust code uses [`OpenworkExt::openwork`].
//!
//! # Commands
//!
//! `server_info`, `list_approvals`, `respond_approval`, `create_token`, `restart`.

mod commands;
mod desktop;
mod error;
pub mod models;
mod options;
mod prompt;

use openwork_server_core::{ApprovalMode, CliOverrides, EnvSource};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tauri::plugin::TauriPlugin;
use tauri::{Manager, RunEvent, Runtime};

pub use desktop::Openwork;
pub use error::{Error, Result};
pub use models::ServerInfo;
pub use openwork_server_core::{ApprovalPrompter, ApprovalRequest, Approvals};
pub use prompt::ApprovalUi;
pub use prompt::native::DIALOG_TITLE;

use options::ServerOptions;
use prompt::native::NativePrompter;
use prompt::webview::WebviewPrompter;

/// The plugin with the default configuration layers (config file, `OPENWORK_*`
/// environment) and native approval dialogs.
pub fn init<R: Runtime>() -> TauriPlugin<R> {
    Builder::new().build()
}

/// Access to the in-process server from anything that can reach the app's state.
pub trait OpenworkExt<R: Runtime> {
    /// The in-process server.
    fn openwork(&self) -> &Openwork;
}

impl<R: Runtime, T: Manager<R>> OpenworkExt<R> for T {
    fn openwork(&self) -> &Openwork {
        self.state::<Openwork>().inner()
    }
}

/// Configures the plugin: the server configuration (the binary's layers: a config file <
/// `OPENWORK_*` environment < the explicit settings here) and who answers approvals.
#[derive(Debug, Default)]
#[must_use]
pub struct Builder {
    options: ServerOptions,
    ui: ApprovalUi,
}

impl Builder {
    /// Default layers and native approval dialogs.
    pub fn new() -> Self {
        Self::default()
    }

    /// The JSON config file (the binary's `--config`).
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.config_file = Some(path.into());
        self
    }

    /// The environment for the `OPENWORK_*` layer (default: the process environment).
    pub fn env(mut self, env: EnvSource) -> Self {
        self.options.env = env;
        self
    }

    /// Every explicit setting at once (the binary's command-line flags), replacing any set
    /// by the methods below.
    pub fn overrides(mut self, overrides: CliOverrides) -> Self {
        self.options.overrides = overrides;
        self
    }

    /// Adds a workspace folder; any given here replace the file's and the environment's.
    pub fn workspace(mut self, path: impl Into<String>) -> Self {
        self.options.overrides.workspaces.push(path.into());
        self
    }

    /// The address to bind (default `127.0.0.1`).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.options.overrides.host = Some(host.into());
        self
    }

    /// The port to bind; `0` lets the system pick a free one (read it from `server_info`).
    pub fn port(mut self, port: u16) -> Self {
        self.options.overrides.port = Some(port);
        self
    }

    /// The client token (default: the configured one, or a fresh random one).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.options.overrides.token = Some(token.into());
        self
    }

    /// The host token (default: the configured one, or a fresh random one).
    pub fn host_token(mut self, token: impl Into<String>) -> Self {
        self.options.overrides.host_token = Some(token.into());
        self
    }

    /// `manual` (every write asks, the default) or `auto` (no prompts).
    pub fn approval_mode(mut self, mode: ApprovalMode) -> Self {
        self.options.overrides.approval_mode = Some(mode);
        self
    }

    /// How long a write waits for an answer before it is denied.
    pub fn approval_timeout(mut self, timeout: Duration) -> Self {
        self.options.overrides.approval_timeout_ms =
            Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// What relative workspace paths resolve against (default: the current directory).
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.options.current_dir = Some(dir.into());
        self
    }

    /// How long in-flight requests may finish when the server stops (default 1.5 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.options.shutdown_grace = Some(grace);
        self
    }

    /// Who answers approval requests (default: native dialogs).
    pub fn approval_ui(mut self, ui: ApprovalUi) -> Self {
        self.ui = ui;
        self
    }

    /// The plugin. Its setup fails the app's startup with a clear [`Error`] when the
    /// configuration is invalid or the address cannot be bound.
    pub fn build<R: Runtime>(self) -> TauriPlugin<R> {
        let Self { options, ui } = self;
        tauri::plugin::Builder::new("openwork")
            .invoke_handler(tauri::generate_handler![
                commands::server_info,
                commands::list_approvals,
                commands::respond_approval,
                commands::create_token,
                commands::restart,
            ])
            .setup(move |app, _api| {
                let prompter: Arc<dyn ApprovalPrompter> = match ui {
                    ApprovalUi::NativeDialog => {
                        // Registering the dialog plugin from here would deadlock; the app
                        // registers it first.
                        if app.try_state::<tauri_plugin_dialog::Dialog<R>>().is_none() {
                            return Err(Error::DialogPluginMissing.into());
                        }
                        Arc::new(NativePrompter::new(app.clone()))
                    }
                    ApprovalUi::Webview => Arc::new(WebviewPrompter { app: app.clone() }),
                    ApprovalUi::Custom(prompter) => prompter,
                };
                app.manage(Openwork::start(options, prompter)?);
                Ok(())
            })
            .on_event(|app, event| {
                if let RunEvent::Exit = event {
                    if let Some(openwork) = app.try_state::<Openwork>() {
                        openwork.stop_blocking();
                    }
                }
            })
            .build()
    }
}
