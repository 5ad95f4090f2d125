//! The plugin's error type. Errors cross the IPC boundary as their message string, like the
//! official plugins' errors.

use serde::{Serialize, Serializer};

/// What can go wrong starting the server or running a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration (file, environment, overrides) or the token store is invalid.
    #[error("OpenWork server configuration: {0}")]
    Config(#[from] openwork_server_core::ConfigError),
    /// The listening socket could not be opened.
    #[error("OpenWork server cannot listen on {addr}: {source}")]
    Bind {
        /// `host:port` as configured.
        addr: String,
        /// The system's reason.
        source: std::io::Error,
    },
    /// Native approval dialogs need `tauri-plugin-dialog`, registered before this plugin.
    #[error(
        "the OpenWork plugin shows approvals with tauri-plugin-dialog: register \
         `tauri_plugin_dialog::init()` before `tauri_plugin_openwork` (or choose the webview or a \
         custom approval prompter)"
    )]
    DialogPluginMissing,
    /// The server is not running (a restart failed).
    #[error("the OpenWork server is not running")]
    NotRunning,
    /// A host-only command was invoked from a page that is not the app's own.
    #[error("this command is only available to the app's own pages")]
    RemoteOrigin,
    /// A scope name other than `owner`, `collaborator` or `viewer`.
    #[error("Token scope must be owner, collaborator, or viewer")]
    InvalidScope,
    /// The server refused (e.g. read-only mode) or failed.
    #[error("{code}: {message}")]
    Server {
        /// The contract's error code, e.g. `read_only`.
        code: String,
        /// Its message.
        message: String,
    },
    /// Any other I/O failure.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<openwork_server_core::ApiError> for Error {
    fn from(error: openwork_server_core::ApiError) -> Self {
        Self::Server {
            code: error.code.into_owned(),
            message: error.message.into_owned(),
        }
    }
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

/// The plugin's result type.
pub type Result<T> = std::result::Result<T, Error>;
