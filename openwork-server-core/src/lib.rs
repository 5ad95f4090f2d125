//! The OpenWork server as a library.
//!
//! The OpenWork server is the filesystem-backed HTTP API in front of an OpenCode workspace:
//! remote clients read and edit the workspace's agent setup, a person on the host approves
//! every write, and scoped bearer tokens decide who may do what.
//!
//! Hosts (the headless binary, the desktop plugin, tests) drive it through [`Server::builder`]:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use openwork_server_core::{CliOverrides, EnvSource, Server};
//!
//! let server = Server::builder()
//!     .env(EnvSource::process())
//!     .cli(CliOverrides { port: Some(0), ..CliOverrides::default() })
//!     .build()?;
//! let bound = server.bind().await?;
//! println!("listening on {}", bound.local_addr());
//! bound.serve().await?;
//! # Ok(()) }
//! ```

pub mod approvals;
mod audit;
mod auth;
pub mod config;
mod error;
mod events;
mod files;
mod fs;
pub mod logging;
mod opencode;
mod pipeline;
mod proxy;
mod resources;
mod routes;
mod server;
mod state;
pub mod tokens;
mod watch;
pub mod workspace;

pub use approvals::{ApprovalMode, ApprovalOutcome, ApprovalPrompter, ApprovalRequest, Approvals};
pub use auth::{Actor, ActorKind, Scope};
pub use config::{CliOverrides, ConfigError, EnvSource, LogFormat, ServerConfig, TokenSource};
pub use error::ApiError;
pub use server::{BoundServer, Server, ServerBuilder, ServerHandle};

/// Test hook for the cargo-fuzz targets in `fuzz/` (not an API: hidden, unstable).
#[doc(hidden)]
pub mod __fuzz {
    use std::path::{Path, PathBuf};

    /// `fs::confine::normalize_relative`; the error is the client-facing message.
    pub fn normalize(input: &str, allow_subdirs: bool) -> Result<String, &'static str> {
        crate::fs::confine::normalize_relative(input, allow_subdirs).map_err(|e| e.message())
    }

    /// `fs::confine::resolve_under`; the error is the client-facing message.
    pub fn resolve(root: &Path, relative: &str) -> Result<PathBuf, &'static str> {
        crate::fs::confine::resolve_under(root, relative).map_err(|e| e.message())
    }
}

/// The server version reported by `/health`, `/status`, `/capabilities` and `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
